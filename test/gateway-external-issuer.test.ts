import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { call, expectProblem, startHarness, TestClock, type Harness } from './support/harness.ts';
import { waitFor } from './support/wait.ts';

const SCRIPT = fileURLToPath(new URL('./support/external-issuer.ts', import.meta.url));
const AUDIENCE = 'https://api.example/orders';

function ask<T>(child: ChildProcess, message: Record<string, unknown>, reply: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { type: string } & T) => {
      if (m.type !== reply) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send(message);
  });
}

describe('gateway: tokens from an external issuer (discovery, JWKS, key rotation on its side)', () => {
  let idp: ChildProcess;
  let issuer: string;
  let h: Harness;

  const sign = async (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
    const now = Math.floor(h.clock.read() / 1000);
    const { token } = await ask<{ token: string }>(
      idp,
      { type: 'sign', claims: { iss: issuer, sub: 'ext-user-1', aud: AUDIENCE, scope: 'orders:read', iat: now, exp: now + 300, ...claims }, header },
      'signed',
    );
    return token;
  };
  const fetches = async () => (await ask<{ jwksFetches: number }>(idp, { type: 'stats' }, 'stats')).jwksFetches;

  before(async () => {
    idp = fork(SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    issuer = (await new Promise<{ url: string }>((resolve) => idp.once('message', resolve))).url;
    const yaml = [
      'tokens:',
      '  issuers:',
      `    - issuer: ${issuer}`,
      `      discoveryUrl: ${issuer}/.well-known/openid-configuration`,
      '      algorithms: [RS256]',
      '      jwksCooldownSeconds: 1',
      '      introspection:',
      `        url: ${issuer}/introspect`,
      '        clientId: gatehouse-gw',
      '        cacheSeconds: 2',
      `    - issuer: ${issuer}/huge`,
      `      jwksUrl: ${issuer}/huge-jwks`,
      '      algorithms: [RS256]',
    ].join('\n');
    h = await startHarness(
      { GATEHOUSE_AUTH_FAILURES_LIMIT: '1000', GATEHOUSE_TEST_GATEWAY: 'https', GATEHOUSE_INTROSPECTION_CLIENT_SECRET: 'introspection-secret' },
      TestClock.wall(),
      yaml,
    );
    const api = await h.admin('POST', '/apis', {
      name: 'orders',
      listenPath: '/orders',
      upstreamUrl: h.upstream.url,
      auth: { type: 'bearer', scopes: ['orders:read'] },
      tokens: { audience: AUDIENCE },
    });
    assert.equal(api.status, 201, JSON.stringify(api.body));
  });
  after(async () => {
    await h?.close();
    idp?.kill();
  });

  test('a token signed by the external issuer is accepted, found through its discovery document', async () => {
    const res = await call(h, '/orders/items', { key: await sign() });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(h.upstream.requests.at(-1)!.headers['x-gatehouse-user'], 'ext-user-1');
  });

  test('after the issuer rotates its key, the new kid triggers one JWKS refetch and is accepted', async () => {
    const before = await fetches();
    await ask(idp, { type: 'rotate' }, 'rotated');
    const token = await sign();
    // jose refetches for an unknown kid once the 1 s cooldown since the last fetch has passed, timed
    // by its own wall clock: retry until the new kid is accepted; refused tries within the cooldown fetch nothing.
    const res = await waitFor(
      async () => {
        const r = await call(h, '/orders/items', { key: token });
        if (r.status !== 200) expectProblem(r, 401, 'TOKEN_INVALID');
        return r.status === 200 && r;
      },
      { intervalMs: 50, what: 'the rotated key accepted' },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(await fetches(), before + 1);
  });

  test('unknown kids refetch the JWKS at most once per cooldown', async () => {
    const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => sign({}, { kid: `made-up-${i}` })));
    // Once the cooldown since the last fetch has passed (jose's wall clock), an unknown kid refetches...
    const before = await fetches();
    await waitFor(
      async () => {
        expectProblem(await call(h, '/orders/items', { key: tokens[0]! }), 401, 'TOKEN_INVALID');
        return (await fetches()) > before;
      },
      { intervalMs: 50, what: 'a JWKS refetch for an unknown kid' },
    );
    const refetched = await fetches();
    assert.equal(refetched, before + 1);
    // ...and the unknown kids right after it, within the cooldown, fetch nothing more.
    for (const token of tokens.slice(1)) expectProblem(await call(h, '/orders/items', { key: token }), 401, 'TOKEN_INVALID');
    assert.equal(await fetches(), refetched);
  });

  test('its pinned algorithm, audience and type are enforced', async () => {
    expectProblem(await call(h, '/orders/items', { key: await sign({ aud: 'https://api.example/other' }) }), 401, 'TOKEN_WRONG_AUDIENCE');
    expectProblem(await call(h, '/orders/items', { key: await sign({}, { typ: 'JWT' }) }), 401, 'TOKEN_INVALID');
    expectProblem(await call(h, '/orders/items', { key: await sign({ iss: `${issuer}/other` }) }), 401, 'TOKEN_INVALID');
  });

  test('a JWKS larger than the size limit is never used', async () => {
    expectProblem(await call(h, '/orders/items', { key: await sign({ iss: `${issuer}/huge` }) }), 401, 'TOKEN_INVALID');
  });

  test('opaque tokens are introspected (RFC 7662), cached within their life, and a revoked one stops within the cache bound', async () => {
    const now = Math.floor(h.clock.read() / 1000);
    const { token } = await ask<{ token: string }>(
      idp,
      { type: 'opaque', claims: { sub: 'opaque-user', scope: 'orders:read', aud: AUDIENCE, exp: now + 300, client_id: 'partner' } },
      'opaque',
    );
    const calls = async () => (await ask<{ introspections: number }>(idp, { type: 'stats' }, 'stats')).introspections;
    const before = await calls();
    const res = await call(h, '/orders/items', { key: token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(h.upstream.requests.at(-1)!.headers['x-gatehouse-user'], 'opaque-user');
    assert.equal((await call(h, '/orders/items', { key: token })).status, 200);
    assert.equal((await calls()) - before, 1, 'the second request used the cached answer');
    await ask(idp, { type: 'forget', claims: { token } }, 'forgotten');
    h.clock.advance(1000);
    assert.equal((await call(h, '/orders/items', { key: token })).status, 200, 'within the configured cache bound (2 s) the cached answer stands');
    h.clock.advance(1000);
    expectProblem(await call(h, '/orders/items', { key: token }), 401, 'TOKEN_INVALID');
    assert.equal((await calls()) - before, 2, 'asked again once the cache bound had passed');
    expectProblem(await call(h, '/orders/items', { key: 'opaque-never-issued' }), 401, 'TOKEN_INVALID');
    const { token: otherApi } = await ask<{ token: string }>(
      idp,
      { type: 'opaque', claims: { sub: 'u', aud: 'https://api.example/other', exp: now + 300 } },
      'opaque',
    );
    expectProblem(await call(h, '/orders/items', { key: otherApi }), 401, 'TOKEN_WRONG_AUDIENCE');
  });

  test('an introspection answer for a refresh token, or for a token not valid yet, is not an active access token', async () => {
    const now = Math.floor(h.clock.read() / 1000);
    const opaqueToken = async (claims: Record<string, unknown>) =>
      (await ask<{ token: string }>(idp, { type: 'opaque', claims: { sub: 'u', scope: 'orders:read', aud: AUDIENCE, exp: now + 300, ...claims } }, 'opaque'))
        .token;
    assert.equal((await call(h, '/orders/items', { key: await opaqueToken({ token_type: 'Bearer' }) })).status, 200);
    expectProblem(await call(h, '/orders/items', { key: await opaqueToken({ token_type: 'refresh_token' }) }), 401, 'TOKEN_INVALID');
    expectProblem(await call(h, '/orders/items', { key: await opaqueToken({ nbf: now + 600 }) }), 401, 'TOKEN_INVALID');
  });

  test('app_id and key_id claims from an external issuer name nothing of ours: per-app limits count the token’s client', async () => {
    const api = await h.admin('POST', '/apis', {
      name: 'metered',
      listenPath: '/metered',
      upstreamUrl: h.upstream.url,
      auth: { type: 'bearer', scopes: [], rateLimits: [{ name: 'hourly', limit: 1, windowSeconds: 3600, by: 'app' }] },
      tokens: { audience: 'https://api.example/metered' },
    });
    assert.equal(api.status, 201, JSON.stringify(api.body));
    const token = (appId: string) => sign({ aud: 'https://api.example/metered', client_id: 'ext-client', app_id: appId, key_id: 'key_notours' });
    assert.equal((await call(h, '/metered/a', { key: await token('app_one') })).status, 200);
    expectProblem(await call(h, '/metered/a', { key: await token('app_two') }), 429, 'RATE_LIMITED');
  });

  test('a discovery document naming another issuer stops the start', async () => {
    const yaml = ['tokens:', '  issuers:', '    - issuer: https://id.example', `      discoveryUrl: ${issuer}/.well-known/openid-configuration`].join('\n');
    await assert.rejects(startHarness({}, undefined, yaml), /is for http:\/\/127\.0\.0\.1:\d+, not https:\/\/id\.example/);
  });

  test('an API that asks for bearer tokens is refused when no issuer is trusted', async () => {
    const plain = await startHarness();
    try {
      const res = await plain.admin('POST', '/apis', { name: 'x', listenPath: '/x', upstreamUrl: plain.upstream.url, auth: { type: 'bearer', scopes: [] } });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.match(JSON.stringify(res.body), /token issuer/);
    } finally {
      await plain.close();
    }
  });
});
