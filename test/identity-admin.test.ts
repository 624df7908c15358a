import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminKeysService } from '../src/control/services/admin-keys.ts';
import { usersService } from '../src/control/services/users.ts';
import { expectProblem, startHarness } from './support/harness.ts';
import { PASSWORD, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

describe('admin API: users, clients and signing keys', () => {
  let h: AuthHarness;

  before(async () => {
    h = await startAuthHarness();
  });
  after(() => h.close());

  test('bad user input is refused field by field, with nothing created and no password echoed', async () => {
    const short = await h.admin('POST', '/users', { username: 'ada@example.com', password: 'short' });
    expectProblem(short, 400, 'VALIDATION_FAILED');
    assert.ok(short.body.errors?.password ?? JSON.stringify(short.body).includes('password'));
    assert.ok(!JSON.stringify(short.body).includes('"short"'));
    expectProblem(await h.admin('POST', '/users', { username: 'not-an-email', password: PASSWORD }), 400, 'VALIDATION_FAILED');
    expectProblem(await h.admin('POST', '/users', { username: 'ada@example.com', password: PASSWORD, roles: ['Has Space'] }), 400, 'VALIDATION_FAILED');
    assert.deepEqual((await h.admin('GET', '/users')).body.items, []);
  });

  test('a second user with the same name in another case is a conflict', async () => {
    assert.equal((await h.admin('POST', '/users', { username: 'grace@example.com', password: PASSWORD })).status, 201);
    expectProblem(await h.admin('POST', '/users', { username: 'Grace@Example.com', password: PASSWORD }), 409, 'CONFLICT');
  });

  test('a user view and its audit entries never carry the password hash', async () => {
    const created = await h.admin('POST', '/users', { username: 'hopper@example.com', password: PASSWORD });
    assert.equal(created.body.passwordHash, undefined);
    const audit = await h.admin('GET', `/audit?targetId=${created.body.id}`);
    assert.ok(!JSON.stringify(audit.body).includes('$scrypt$'));
    assert.equal(audit.body.items[0].action, 'user.created');
  });

  test('client settings that do not fit together are refused when saved, not at request time', async () => {
    const api = await h.api('orders', ['orders:read']);
    const cases: [Record<string, unknown>, string][] = [
      [{ grantTypes: ['authorization_code'] }, 'redirectUris'],
      [{ grantTypes: ['client_credentials'], redirectUris: [REDIRECT] }, 'redirectUris'],
      [{ type: 'public', grantTypes: ['client_credentials'] }, 'grantTypes'],
      [{ grantTypes: ['refresh_token'] }, 'grantTypes'],
      [{ grantTypes: ['urn:ietf:params:oauth:grant-type:token-exchange'] }, 'exchangeAppId'],
      [{ grantTypes: ['client_credentials'], apiIds: ['api_0000000000000000000000000000'] }, 'apiIds'],
    ];
    for (const [body, field] of cases) {
      const res = await h.admin('POST', '/clients', { name: 'x', ...body });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.ok(JSON.stringify(res.body).includes(field), `${JSON.stringify(body)} -> ${JSON.stringify(res.body)}`);
    }
    for (const uri of ['http://app.example/cb', 'https://app.example/cb#frag', 'not a url']) {
      expectProblem(await h.admin('POST', '/clients', { name: 'x', redirectUris: [uri] }), 400, 'VALIDATION_FAILED');
    }
    const ok = await h.admin('POST', '/clients', { name: 'ok', grantTypes: ['client_credentials'], apiIds: [api.id] });
    assert.equal(ok.status, 201);
    assert.match(ok.body.secret, /^gcs_live_/);
    assert.equal((await h.admin('GET', `/clients/${ok.body.id}`)).body.secret, undefined, 'the secret is shown only at creation');
    const stored = await h.gh.ctx.store.clients.get(ok.body.id);
    assert.ok(stored?.secretHash && !stored.secretHash.includes(ok.body.secret), 'only a keyed hash is stored');
  });

  test('an admin key without the users and clients permissions is refused', async () => {
    const { secret } = await adminKeysService.create(h.gh.ctx, { actor: 'test', requestId: null }, 'reader', ['keys:read']);
    expectProblem(await h.admin('GET', '/users', undefined, secret), 403, 'PERMISSION_DENIED');
    expectProblem(await h.admin('POST', '/clients', { name: 'x' }, secret), 403, 'PERMISSION_DENIED');
    expectProblem(await h.admin('POST', '/signing-keys/rotate', {}, secret), 403, 'PERMISSION_DENIED');
  });

  test('MFA is required by the user flag or by a configured role', () => {
    const ctx = { ...h.gh.ctx, identity: { ...h.gh.ctx.identity!, mfaRequiredRoles: ['admin'] } };
    const base = {
      id: 'usr_x',
      username: 'x@example.com',
      name: null,
      passwordHash: '',
      disabled: false,
      totp: null,
      createdAt: 0,
      updatedAt: 0,
      lastLoginAt: null,
    };
    assert.equal(usersService.mfaRequired(ctx, { ...base, roles: ['staff'], mfaRequired: false }), false);
    assert.equal(usersService.mfaRequired(ctx, { ...base, roles: ['staff', 'admin'], mfaRequired: false }), true);
    assert.equal(usersService.mfaRequired(ctx, { ...base, roles: [], mfaRequired: true }), true);
  });
});

describe('without a master key', () => {
  test('the authorization server is off and its admin routes say why', async () => {
    const h = await startHarness();
    try {
      expectProblem(await h.admin('POST', '/users', { username: 'ada@example.com', password: PASSWORD }), 503, 'AUTHORIZATION_DISABLED');
      const discovery = await fetch(`${h.gh.controlUrl}/.well-known/openid-configuration`);
      assert.equal(discovery.status, 404);
      assert.equal(h.gh.authorization, null);
    } finally {
      await h.close();
    }
  });
});
