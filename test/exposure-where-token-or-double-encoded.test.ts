import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { markExposed } from '../src/control/services/exposure.ts';
import { expectProblem, startSeeded, anotherKey, type Harness, type Seeded } from './support/harness.ts';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A bearer token as it leaks in a callback URL: a JWT (header, claims, signature). */
const JWT = `${b64url({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.${b64url({ sub: 'u1', scope: 'orders:read', exp: 2_000_000_000 })}.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg`;

/**
 * An exposure report's `where` names a place, never a secret. A key as sent or percent-encoded once
 * was refused; a JWT (an access token in a callback URL) or a key percent-encoded twice (`gk%255F...`,
 * a URL copied from a log that encoded it again) was accepted and kept in the key's exposure, the
 * audit log and the key.exposed webhook payload. Both are refused now; a code host's report, which must
 * be acted on all the same, has such a `where` withheld.
 */
describe('an exposure report whose where holds a token, or a key encoded twice', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  test('is refused (400 VALIDATION_FAILED on where), and the secret reaches neither the key nor the audit log', async () => {
    const twice = ids.secret.replaceAll('_', '%255F');
    const thrice = ids.secret.replaceAll('_', '%25255F');
    for (const [where, secret] of [
      [`https://app.example/callback#access_token=${JWT}&token_type=Bearer`, JWT],
      [`https://app.example/callback?token=${JWT.replaceAll('.', '%2E')}`, JWT.replaceAll('.', '%2E')],
      [`https://proxy.example/log?u=https%3A%2F%2Fapi.example%2Fx%3Fk%3D${twice}`, twice],
      [`https://proxy.example/log?u=${thrice}`, thrice],
    ]) {
      const res = await h.admin('POST', `/keys/${ids.keyId}/exposed`, { source: 'operator', where });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.equal(res.body.errors?.[0]?.field, 'where', JSON.stringify(res.body));
      assert.ok(!JSON.stringify(res.body).includes(secret!));
    }
    assert.equal((await h.admin('GET', `/keys/${ids.keyId}`)).body.exposedAt, null, 'not recorded');
    const audit = JSON.stringify((await h.admin('GET', '/audit?limit=200')).body);
    assert.ok(!audit.includes(JWT.split('.')[1]!), 'the token is in the audit log');
    assert.ok(!audit.includes('%255F'), 'the key is in the audit log');
    // A place with a dot-separated name, or a base64 look-alike, is still a place.
    const place = await h.admin('POST', `/keys/${ids.keyId}/exposed`, { source: 'operator', where: 'src/eyJhbGci.notes.md line 3, commit 0123abc' });
    assert.equal(place.status, 200, JSON.stringify(place.body));
  });

  test("a code host's report is acted on, with a where that holds a token withheld", async () => {
    const key = await anotherKey(h, ids);
    const stored = (await h.gh.ctx.store.keys.get(key.id))!;
    const done = await markExposed(h.gh.ctx, { actor: 'secret-scanning:github', requestId: null }, stored, {
      source: 'secret-scanning',
      where: `https://gist.example/raw?t=${JWT}`,
    });
    assert.notEqual(done.key.exposedAt, null, 'the key is marked exposed all the same');
    const audit = (await h.admin('GET', `/audit?targetId=${key.id}&action=key.exposed`)).body.items;
    assert.equal(audit.length, 1);
    assert.ok(!JSON.stringify(audit).includes(JWT.split('.')[1]!), 'the token is in the audit log');
    assert.match(JSON.stringify(audit[0].after.exposure.where), /withheld/);
  });
});
