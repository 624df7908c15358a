import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { seed, startHarness, type Harness, type Seeded } from './support/harness.ts';

/** One request with exactly these headers (names as given: underscores and case kept). */
function send(base: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: any }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Raw bytes, for what clients refuse to send (two Host headers); the status line's code. */
function raw(base: string, head: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve({ status: Number(text.slice(9, 12)), text }));
    socket.on('error', () => undefined);
    socket.write(`${head}Connection: close\r\n\r\n`);
  });
}

/** A header name as WSGI servers and many frameworks compare it: case and `_`/`-` ignored. */
const normalise = (name: string) => name.toLowerCase().replace(/_/g, '-');

describe('gateway: headers the upstream trusts come only from the gateway', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => {
    h = await startHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' });
    ids = await seed(h);
  });
  after(() => h.close());

  const lastUpstreamHeaders = () => Object.keys(h.upstream.requests.at(-1)!.headers).map(normalise);

  test('look-alike identity headers (X_Gatehouse_User, any X-Gatehouse-*) sent with only a key never reach the upstream', async () => {
    const res = await send(h.gh.gatewayUrl, '/orders/x', {
      'x-api-key': ids.secret,
      X_Gatehouse_User: 'usr_admin',
      X_Gatehouse_Roles: 'admin',
      x_gatehouse_scopes: 'orders:admin',
      'X-Gatehouse-Tenant': 'other',
      X_Gatehouse_Key_Id: 'key_spoofed',
      X_Request_Id: 'spoofed',
    });
    assert.equal(res.status, 200);
    const seen = lastUpstreamHeaders();
    assert.deepEqual(seen.filter((n) => n.startsWith('x-gatehouse-')).sort(), ['x-gatehouse-app', 'x-gatehouse-key-id']);
    assert.equal(h.upstream.requests.at(-1)!.headers['x-gatehouse-key-id'], ids.keyId);
    assert.equal(h.upstream.requests.at(-1)!.headers['x_gatehouse_key_id'], undefined);
    assert.equal(seen.filter((n) => n === 'x-request-id').length, 0, 'no request id was sent in a form the gateway accepts');
  });

  test('client-address, URL and method headers upstreams trust are dropped; X-Real-IP is set from the checked address', async () => {
    const spoofed: Record<string, string> = {
      'X-Real-IP': '10.0.0.1',
      'True-Client-IP': '10.0.0.1',
      'X-Client-IP': '10.0.0.1',
      'CF-Connecting-IP': '10.0.0.1',
      'Fastly-Client-IP': '10.0.0.1',
      'X-Cluster-Client-IP': '10.0.0.1',
      'Client-IP': '10.0.0.1',
      X_Forwarded_For: '10.0.0.1',
      'X-Forwarded': 'for=10.0.0.1',
      'Forwarded-For': '10.0.0.1',
      Forwarded: 'for=10.0.0.1;proto=https',
      'X-Forwarded-Port': '443',
      X_Forwarded_Proto: 'https',
      'X-Forwarded-Scheme': 'https',
      'X-Forwarded-Ssl': 'on',
      'X-Url-Scheme': 'https',
      'Front-End-Https': 'on',
      'X-Forwarded-Server': 'admin.internal',
      'X-Forwarded-Prefix': '/admin',
      X_Forwarded_Host: 'admin.internal',
      'X-Original-URL': '/admin/secret',
      'X-Rewrite-URL': '/admin/secret',
      'X-Original-URI': '/admin/secret',
      'X-Forwarded-Uri': '/admin/secret',
      'X-Forwarded-Path': '/admin/secret',
      'X-Envoy-Original-Path': '/admin/secret',
      'X-Original-Host': 'admin.internal',
      'X-Host': 'admin.internal',
    };
    const res = await send(h.gh.gatewayUrl, '/orders/x', { 'x-api-key': ids.secret, ...spoofed });
    assert.equal(res.status, 200);
    const seen = h.upstream.requests.at(-1)!.headers;
    const names = lastUpstreamHeaders();
    for (const name of Object.keys(spoofed)) {
      const n = normalise(name);
      if (n === 'x-real-ip') assert.equal(seen['x-real-ip'], '127.0.0.1');
      else if (n === 'x-forwarded-for') assert.equal(seen['x-forwarded-for'], '127.0.0.1');
      else if (n === 'x-forwarded-proto') assert.equal(seen['x-forwarded-proto'], 'http');
      else if (n === 'x-forwarded-host') assert.equal(seen['x-forwarded-host'], new URL(h.gh.gatewayUrl).host);
      else assert.ok(!names.includes(n), `${name} reached the upstream`);
    }
    assert.equal(names.filter((n) => n === 'x-forwarded-for').length, 1);
  });

  test('a method override is refused (400) and never forwarded: a key limited to POST cannot DELETE', async () => {
    const postOnly = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId, methods: ['POST'] }] })).body.secret;
    assert.equal((await send(h.gh.gatewayUrl, '/orders/x', { 'x-api-key': postOnly }, 'POST')).status, 200);
    const before = h.upstream.requests.length;
    for (const name of ['X-HTTP-Method-Override', 'X_HTTP_Method_Override', 'X-HTTP-Method', 'X-Method-Override']) {
      const res = await send(h.gh.gatewayUrl, '/orders/x', { 'x-api-key': postOnly, [name]: 'DELETE' }, 'POST');
      assert.equal(res.status, 400, name);
      assert.equal(res.body.code, 'VALIDATION_FAILED');
    }
    const query = await send(h.gh.gatewayUrl, '/orders/x?_method=DELETE', { 'x-api-key': postOnly }, 'POST');
    assert.equal(query.status, 400, '_method in the query string');
    assert.equal(h.upstream.requests.length, before, 'nothing was forwarded');
  });

  test('two Host, Authorization, X-API-Key, DPoP or Origin headers are refused with 400, and nothing is forwarded', async () => {
    const before = h.upstream.requests.length;
    const url = new URL(h.gh.gatewayUrl);
    const cases = [
      `GET /orders/x HTTP/1.1\r\nHost: ${url.host}\r\nHost: admin.internal\r\nX-API-Key: ${ids.secret}\r\n`,
      `GET /orders/x HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${ids.secret}\r\nAuthorization: Bearer gk_live_other\r\n`,
      `GET /orders/x HTTP/1.1\r\nHost: ${url.host}\r\nX-API-Key: ${ids.secret}\r\nX-API-Key: gk_live_other\r\n`,
      `GET /orders/x HTTP/1.1\r\nHost: ${url.host}\r\nX-API-Key: ${ids.secret}\r\nX_API_Key: gk_live_other\r\n`,
      `GET /orders/x HTTP/1.1\r\nHost: ${url.host}\r\nX-API-Key: ${ids.secret}\r\nDPoP: a\r\nDPoP: b\r\n`,
      `GET /orders/x HTTP/1.1\r\nHost: ${url.host}\r\nX-API-Key: ${ids.secret}\r\nOrigin: https://a.example\r\nOrigin: https://b.example\r\n`,
    ];
    for (const head of cases) {
      const res = await raw(h.gh.gatewayUrl, head);
      assert.equal(res.status, 400, head);
      assert.match(res.text, /VALIDATION_FAILED/);
    }
    assert.equal(h.upstream.requests.length, before);
  });

  test('a Host header that is not a host and port is refused: the upstream builds links from X-Forwarded-Host', async () => {
    const before = h.upstream.requests.length;
    for (const host of ['evil.example/path', 'evil.example@x', 'a b', 'x:port', '"x"']) {
      const res = await raw(h.gh.gatewayUrl, `GET /orders/x HTTP/1.1\r\nHost: ${host}\r\nX-API-Key: ${ids.secret}\r\n`);
      assert.equal(res.status, 400, host);
    }
    assert.equal(h.upstream.requests.length, before);
    for (const host of ['api.example.com', 'api.example.com:8443', '127.0.0.1:1', '[::1]:8080', 'my_service:80']) {
      assert.equal((await raw(h.gh.gatewayUrl, `GET /orders/x HTTP/1.1\r\nHost: ${host}\r\nX-API-Key: ${ids.secret}\r\n`)).status, 200, host);
      assert.equal(h.upstream.requests.at(-1)!.headers['x-forwarded-host'], host);
    }
  });
});
