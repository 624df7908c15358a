import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * The gateway adopts a caller's X-Request-Id, echoes it in denials and forwards it upstream. One that
 * is a key or a JWT (a client that put its credential in the wrong header) is not adopted: the gateway
 * makes its own id, so the secret is neither echoed to whoever prints the answer, nor sent to the
 * upstream (which logs it), nor recorded. An ordinary id is still adopted.
 */
describe('an X-Request-Id that is a secret is not adopted', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJyZXF1ZXN0LWlkLW5vdC1hZG9wdGVkIn0.c2lnbmF0dXJlLW9mLWEtcmVxdWVzdC1pZA';
  const incoming = (): [string, string][] => [
    [ids.secret, ids.secret],
    [`trace-${ids.secret}`, ids.secret],
    [jwt, jwt.split('.')[1]!],
  ];

  test('a denial answers with an id of its own, not the secret', async () => {
    for (const [requestId, secret] of incoming()) {
      const res = await fetch(`${h.gh.gatewayUrl}/orders/items/1`, { headers: { 'x-request-id': requestId } });
      const text = await res.text();
      assert.equal(res.status, 401, text);
      const echoed = res.headers.get('x-request-id');
      assert.ok(echoed, 'a denial still names its request');
      assert.ok(!echoed.includes(secret), 'the secret was echoed in X-Request-Id');
      assert.ok(!text.includes(secret), 'the secret was echoed in the problem');
      assert.equal(JSON.parse(text).requestId, echoed);
    }
  });

  test('a forwarded request carries an id of its own upstream, not the secret', async () => {
    for (const [requestId, secret] of incoming()) {
      const res = await fetch(`${h.gh.gatewayUrl}/orders/items/2`, { headers: { 'x-api-key': ids.secret, 'x-request-id': requestId } });
      assert.equal(res.status, 200);
      await res.text();
      const upstreamId = h.upstream.requests.at(-1)!.headers['x-request-id'];
      assert.equal(typeof upstreamId, 'string', 'the upstream is still told which request this is');
      assert.ok(!String(upstreamId).includes(secret), 'the secret was forwarded as the request id');
      assert.notEqual(upstreamId, requestId);
    }
  });

  test('an ordinary id is still adopted', async () => {
    const res = await fetch(`${h.gh.gatewayUrl}/orders/items/3`, { headers: { 'x-request-id': 'trace-gk_live_docs-42' } });
    await res.text();
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('x-request-id'), 'trace-gk_live_docs-42');
  });
});
