import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * oidc-provider's router matches a path and a method together: a request to a mounted endpoint with a
 * method it does not take matched nothing and fell through to koa's empty 404, as if the endpoint were
 * not there. It is there: 405 with the methods it takes in Allow (RFC 9110 §15.5.6, §10.2.1), and an
 * RFC 6749 §5.2 error body (invalid_request) saying which method to use.
 */
describe('an OAuth endpoint asked with a method it does not take', () => {
  let h: AuthHarness;
  let metadata: Record<string, unknown>;
  before(async () => {
    h = await startAuthHarness();
    metadata = (await (await fetch(`${h.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  });
  after(() => h?.close());

  /** The POST-only endpoints this issuer mounts, as its discovery document names them. */
  const POST_ONLY = [
    'token_endpoint',
    'revocation_endpoint',
    'introspection_endpoint',
    'device_authorization_endpoint',
    'pushed_authorization_request_endpoint',
  ];

  test('the discovery document names each POST-only endpoint this test checks', () => {
    for (const name of POST_ONLY) assert.equal(typeof metadata[name], 'string', `${name} is mounted`);
  });

  for (const name of POST_ONLY) {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      test(`${method} at ${name}: 405, Allow names POST, an invalid_request error`, async () => {
        const res = await fetch(metadata[name] as string, { method });
        assert.equal(res.status, 405, `${method} ${String(metadata[name])}`);
        const allow = (res.headers.get('allow') ?? '').split(/,\s*/);
        assert.ok(allow.includes('POST'), `Allow: ${res.headers.get('allow')}`);
        assert.ok(!allow.includes(method), `Allow: ${res.headers.get('allow')}`);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        assert.equal(res.headers.get('cache-control'), 'no-store');
        const body = (await res.json()) as { error: string; error_description: string };
        assert.equal(body.error, 'invalid_request');
        assert.match(body.error_description, /POST/);
        assert.ok(body.error_description.includes(method), body.error_description);
      });
    }
    test(`HEAD at ${name}: 405 with Allow, no body`, async () => {
      const res = await fetch(metadata[name] as string, { method: 'HEAD' });
      assert.equal(res.status, 405);
      assert.ok((res.headers.get('allow') ?? '').includes('POST'));
    });
  }

  test('a POST to the GET-only keys and discovery documents: 405, Allow names GET', async () => {
    for (const url of [metadata.jwks_uri as string, `${h.issuer}/.well-known/openid-configuration`]) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      assert.equal(res.status, 405, url);
      assert.ok((res.headers.get('allow') ?? '').split(/,\s*/).includes('GET'), `Allow: ${res.headers.get('allow')}`);
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
    }
  });

  test('a browser asking GET /token gets the error page with the same status and Allow', async () => {
    const res = await fetch(metadata.token_endpoint as string, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 405);
    assert.ok((res.headers.get('allow') ?? '').includes('POST'));
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await res.text(), /invalid_request/);
  });

  test('an endpoint with an id in its path is named by its route, not by the path sent', async () => {
    const uid = 'a-path-segment-not-to-echo';
    const res = await fetch(`${h.issuer}/auth/${uid}`, { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    const text = await res.text();
    assert.ok(!text.includes(uid), text);
    assert.match(text, /\/auth\/:uid takes GET, not DELETE/);
  });

  test('a path no endpoint has is still 404, and POST /token is still the token endpoint', async () => {
    assert.equal((await fetch(`${h.issuer}/no-such-endpoint`)).status, 404);
    const res = await fetch(metadata.token_endpoint as string, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
  });
});
