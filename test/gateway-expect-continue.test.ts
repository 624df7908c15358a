import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { seed, startHarness, type Harness, type Seeded } from './support/harness.ts';

/** A POST that asks for 100 Continue first (RFC 9110 §10.1.1), as curl and .NET do for larger bodies. */
function postExpectingContinue(base: string, path: string, key: string, body: string): Promise<{ status: number; text: string; continued: boolean }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), expect: '100-continue' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text, continued }));
      },
    );
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('error', reject);
  });
}

describe('gateway: Expect: 100-continue', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => {
    h = await startHarness();
    ids = await seed(h);
  });
  after(() => h.close());

  test('a request with Expect: 100-continue is continued and forwarded with its body, not answered 502', async () => {
    const res = await postExpectingContinue(h.gh.gatewayUrl, '/orders/uploads', ids.secret, 'a body worth asking about');
    assert.equal(res.continued, true, 'the gateway told the client to go on');
    assert.equal(res.status, 200, res.text);
    const seen = h.upstream.requests.at(-1)!;
    assert.equal(seen.url, '/uploads');
    assert.equal(seen.body, 'a body worth asking about');
    // Hop-by-hop: the gateway already answered the expectation; the upstream gets the body itself.
    assert.equal(seen.headers.expect, undefined);
  });
});
