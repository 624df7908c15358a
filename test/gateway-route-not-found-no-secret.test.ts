import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * The gateway's 404 for a path no API is published at quotes the path; a key or JWT in it (a client
 * that put its credential in the path of a mistyped or retired API) is replaced there, as the request
 * log and trace spans replace it (domain/secret-redaction.ts): the detail is printed by clients and
 * kept by proxies and CI logs.
 */
describe('a secret in a path no API is published at is not echoed in the 404', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  test('a key, a percent-encoded key and a JWT: 404 ROUTE_NOT_FOUND without the secret', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJnYXRld2F5LTQwNCJ9.c2lnbmF0dXJlLW9mLWEtZ2F0ZXdheS00MDQ';
    for (const [path, secret] of [
      [`/retired/lookup/${ids.secret}`, ids.secret],
      [`/retired/lookup/${ids.secret.replaceAll('_', '%5F')}`, ids.secret],
      [`/retired/session/${jwt}`, jwt.split('.')[1]!],
    ] as const) {
      const res = await fetch(`${h.gh.gatewayUrl}${path}`);
      const text = await res.text();
      assert.equal(res.status, 404, text);
      assert.equal(JSON.parse(text).code, 'ROUTE_NOT_FOUND');
      assert.match(JSON.parse(text).detail, /^no API is published at \/retired\//);
      assert.ok(!text.includes(secret) && !text.includes(secret.replaceAll('_', '%5F')), `GET ${path.slice(0, 20)}…: ${text}`);
    }
  });
});
