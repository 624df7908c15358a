import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { ensureDevCertificate, type DevCertificate } from '../src/tls/dev-ca.ts';
import { clientPki, type ClientIdentity } from './support/certs.ts';
import { seed, startHarness, TestClock, type Harness } from './support/harness.ts';
import { raw } from './support/raw-connection.ts';
import { waitFor } from './support/wait.ts';

/** The SHA-256 fingerprint of the certificate a new TLS connection to `url` is shown. */
function servedCertificate(url: string, ca: Buffer, options: { maxVersion?: 'TLSv1.1' } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca, servername: 'localhost', ...options }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('gateway over HTTPS: TLS, HSTS, plain HTTP refused for credentials, certificate reload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
  let cert: DevCertificate;
  let ca: Buffer;
  let h: Harness;
  let ids: Awaited<ReturnType<typeof seed>>;
  let https: Agent;

  before(async () => {
    cert = await ensureDevCertificate(join(dir, 'first'));
    ca = readFileSync(cert.caFile);
    https = new Agent({ connect: { ca } });
    h = await startHarness({
      GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'refuse',
      GATEHOUSE_GATEWAY_TLS_CERT_FILE: cert.certFile,
      GATEHOUSE_GATEWAY_TLS_KEY_FILE: cert.keyFile,
      GATEHOUSE_GATEWAY_HTTP_REDIRECT_PORT: '0',
    });
    ids = await seed(h);
  });
  after(async () => {
    await h.close();
    await https.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('requests over HTTPS work and carry HSTS; the upstream hears x-forwarded-proto https', async () => {
    assert.match(h.gh.gatewayUrl, /^https:/);
    const res = await fetch(`${h.gh.gatewayUrl}/orders/x`, { headers: { authorization: `Bearer ${ids.secret}` }, dispatcher: https });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('strict-transport-security'), 'max-age=31536000');
    assert.equal(h.upstream.requests.at(-1)!.headers['x-forwarded-proto'], 'https');
    const denied = await fetch(`${h.gh.gatewayUrl}/orders/x`, { dispatcher: https });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('strict-transport-security'), 'max-age=31536000', 'on denials too');
  });

  test('TLS 1.1 and older are refused', async () => {
    await assert.rejects(servedCertificate(h.gh.gatewayUrl, ca, { maxVersion: 'TLSv1.1' }));
  });

  test('the HTTP listener redirects to HTTPS, but a request with a key is refused, never forwarded, and the key is flagged', async () => {
    const redirectUrl = h.gh.redirectUrl!;
    assert.match(redirectUrl, /^http:/);
    const plain = await fetch(`${redirectUrl}/orders/x?a=1`, { redirect: 'manual' });
    assert.equal(plain.status, 308);
    assert.equal(plain.headers.get('location'), `https://127.0.0.1:${new URL(h.gh.gatewayUrl).port}/orders/x?a=1`);

    const before = h.upstream.requests.length;
    const leaked = await fetch(`${redirectUrl}/orders/x`, { headers: { authorization: `Bearer ${ids.secret}` }, redirect: 'manual' });
    assert.equal(leaked.status, 403);
    const body = (await leaked.json()) as { code: string; detail: string };
    assert.equal(body.code, 'CREDENTIALS_OVER_HTTP');
    assert.ok(!JSON.stringify(body).includes(ids.secret));
    assert.equal(h.upstream.requests.length, before);
    // The flag is written after the answer: wait for it.
    await waitFor(async () => (await h.admin('GET', `/keys/${ids.keyId}`)).body.exposedAt, { what: 'the key flagged as exposed' });
    const audit = await h.admin('GET', `/audit?action=key.exposed&targetId=${ids.keyId}`);
    assert.equal(audit.body.items.length, 1);
    assert.equal(audit.body.items[0].after.exposure.source, 'plain-http');
    assert.equal(audit.body.items[0].after.exposure.where, '127.0.0.1');
    // Sent again over plain HTTP: the same exposure, not a second report.
    assert.equal((await fetch(`${redirectUrl}/orders/x`, { headers: { authorization: `Bearer ${ids.secret}` }, redirect: 'manual' })).status, 403);
    const exposedEvents = async () => (await h.gh.ctx.store.events.after(0, 100)).filter((e) => e.type === 'key.exposed');
    await waitFor(async () => (await exposedEvents()).length > 0, { what: 'the key.exposed event' });
    assert.deepEqual(
      (await exposedEvents()).map((e) => (e.data as { key: { id: string }; exposure: { source: string } }).exposure.source),
      ['plain-http'],
    );
    assert.equal((await h.admin('GET', `/audit?action=key.exposed&targetId=${ids.keyId}`)).body.items.length, 1);
    const tokenOverHttp = await fetch(`${redirectUrl}/orders/x`, { headers: { 'x-api-key': 'anything' }, redirect: 'manual' });
    assert.equal(tokenOverHttp.status, 403, 'any credential header, known or not');
  });

  test('the redirect is built from the configured public host, never from the Host header or the request target', async () => {
    const port = new URL(h.gh.gatewayUrl).port;
    const redirect = new URL(h.gh.redirectUrl!);
    const ask = (target: string, host: string) =>
      new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
        const req = httpRequest({ host: redirect.hostname, port: redirect.port, path: target, headers: { host } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode!, location: res.headers.location });
        });
        req.on('error', reject);
        req.end();
      });
    assert.deepEqual(await ask('/orders/x?a=1', 'evil.example'), { status: 308, location: `https://127.0.0.1:${port}/orders/x?a=1` });
    assert.deepEqual(await ask('/orders/x', 'evil.example:443'), { status: 308, location: `https://127.0.0.1:${port}/orders/x` });
    assert.deepEqual(await ask('//evil.example/x', 'evil.example'), { status: 308, location: `https://127.0.0.1:${port}//evil.example/x` });
    const absolute = await ask('http://evil.example/x', 'evil.example');
    assert.equal(absolute.status, 400, 'an absolute-form target is not redirected anywhere');
    assert.equal(absolute.location, undefined);
  });

  test('a credential in the query string of a plain-HTTP request is refused at the redirect listener, and an API key in it is flagged', async () => {
    const key = (
      await h.admin('POST', '/keys', {
        appId: (await h.admin('GET', `/keys/${ids.keyId}`)).body.appId,
        access: [{ apiId: (await h.admin('GET', '/apis')).body.items[0].id }],
      })
    ).body;
    const inQuery = await fetch(`${h.gh.redirectUrl}/orders/x?api_key=${key.secret}`, { redirect: 'manual' });
    assert.equal(inQuery.status, 403);
    assert.equal(((await inQuery.json()) as { code: string }).code, 'CREDENTIALS_OVER_HTTP');
    await waitFor(async () => (await h.admin('GET', `/keys/${key.id}`)).body.exposedAt, { what: 'the key in the query string flagged as exposed' });
    for (const query of ['?access_token=abc', '?KEY=abc', '?x-api-key=abc', `?q=${encodeURIComponent(`see ${ids.secret}`)}`, `?${ids.secret}`]) {
      assert.equal((await fetch(`${h.gh.redirectUrl}/orders/x${query}`, { redirect: 'manual' })).status, 403, query);
    }
    assert.equal((await fetch(`${h.gh.redirectUrl}/orders/x?key=&page=2`, { redirect: 'manual' })).status, 308, 'an empty value is no credential');
  });

  test('plain HTTP with an API key sent to the HTTPS port is refused as the redirect listener refuses it, never forwarded, and the key is flagged', async () => {
    const key = (
      await h.admin('POST', '/keys', {
        appId: (await h.admin('GET', `/keys/${ids.keyId}`)).body.appId,
        access: [{ apiId: (await h.admin('GET', '/apis')).body.items[0].id }],
      })
    ).body;
    const before = h.upstream.requests.length;
    const plain = h.gh.gatewayUrl.replace('https:', 'http:');
    const { text, closed } = await raw(plain, `GET /orders/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key.secret}\r\n\r\n`, 4000);
    assert.equal(closed, true, 'the connection ends with the answer');
    assert.match(text, /^HTTP\/1\.1 403 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.match(text, /\r\ncontent-type: application\/problem\+json\r\n/i);
    assert.match(text, /"code":"CREDENTIALS_OVER_HTTP"/);
    assert.ok(!text.includes(key.secret), 'the key is not echoed');
    assert.equal(h.upstream.requests.length, before, 'nothing was forwarded');
    await waitFor(async () => (await h.admin('GET', `/keys/${key.id}`)).body.exposedAt, {
      what: 'the key sent to the HTTPS port in clear text flagged as exposed',
    });
    const audit = await h.admin('GET', `/audit?action=key.exposed&targetId=${key.id}`);
    assert.equal(audit.body.items[0].after.exposure.source, 'plain-http');
    assert.equal(audit.body.items[0].after.exposure.where, '127.0.0.1');
    // X-API-Key, and a key in the query string, are refused the same way (any credential, known or not).
    assert.match(
      (await raw(plain, 'GET /orders/x HTTP/1.1\r\nHost: x\r\nX-API-Key: anything\r\n\r\n', 4000)).text,
      /^HTTP\/1\.1 403 [^]*CREDENTIALS_OVER_HTTP/,
    );
    assert.match(
      (await raw(plain, 'POST /orders/x?access_token=abc HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', 4000)).text,
      /^HTTP\/1\.1 403 [^]*CREDENTIALS_OVER_HTTP/,
    );
    assert.equal(h.upstream.requests.length, before, 'nothing was forwarded');
  });

  test('plain HTTP without credentials sent to the HTTPS port gets 400 HTTPS_REQUIRED and the connection closed; HTTPS on the same port still works', async () => {
    const plain = h.gh.gatewayUrl.replace('https:', 'http:');
    const before = h.upstream.requests.length;
    const res = await fetch(`${plain}/orders/x`);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(res.headers.get('connection'), 'close');
    const body = (await res.json()) as { code: string; detail: string };
    assert.equal(body.code, 'HTTPS_REQUIRED');
    assert.match(body.detail, /https:\/\//);
    const { text, closed } = await raw(plain, 'GET /orders/x HTTP/1.1\r\nHost: x\r\n\r\nGET /orders/y HTTP/1.1\r\nHost: x\r\n\r\n', 4000);
    assert.equal(closed, true);
    assert.equal(text.match(/HTTP\/1\.1 400 /g)?.length, 1, 'one answer, then the connection ends: a second request is not read');
    assert.equal(h.upstream.requests.length, before, 'nothing was forwarded');
    const overHttps = await fetch(`${h.gh.gatewayUrl}/orders/x`, { headers: { authorization: `Bearer ${ids.secret}` }, dispatcher: https });
    assert.notEqual(overHttps.status, 400);
    assert.equal(overHttps.headers.get('strict-transport-security'), 'max-age=31536000');
  });

  test('a new certificate in the files is served to new connections without a restart', async () => {
    const first = await servedCertificate(h.gh.gatewayUrl, ca);
    const next = await ensureDevCertificate(join(dir, 'second'));
    copyFileSync(next.keyFile, cert.keyFile);
    copyFileSync(next.certFile, cert.certFile);
    const nextCa = readFileSync(next.caFile);
    // The files are watched: wait for the new certificate to be served, with a deadline.
    const served = await waitFor(() => servedCertificate(h.gh.gatewayUrl, nextCa).catch(() => null), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'the reloaded certificate served',
    });
    assert.notEqual(served, first, 'the reloaded certificate is served');
  });
});

describe('gateway over HTTPS: connections that send nothing, or too little, on the HTTPS port', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-slow-'));
  let h: Harness;
  let https: Agent;
  before(async () => {
    const cert = await ensureDevCertificate(dir);
    https = new Agent({ connect: { ca: readFileSync(cert.caFile) } });
    h = await startHarness({
      GATEHOUSE_GATEWAY_TLS_CERT_FILE: cert.certFile,
      GATEHOUSE_GATEWAY_TLS_KEY_FILE: cert.keyFile,
      GATEHOUSE_GATEWAY_HEADERS_TIMEOUT_SECONDS: '1',
    });
  });
  after(async () => {
    await h.close();
    await https.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a client that connects and sends nothing is cut off after the headers timeout', async () => {
    const { closed, ms, text } = await raw(h.gh.gatewayUrl, '', 4000);
    assert.equal(closed, true, 'still open after 4 s');
    assert.ok(ms >= 900, `closed after ${Math.round(ms)} ms: by the timeout, not at once`);
    assert.equal(text, '');
  });

  test('a plain-HTTP head that trickles is cut off by the headers timeout', async () => {
    const { closed, ms } = await raw(h.gh.gatewayUrl.replace('https:', 'http:'), 'GET /x HTTP/1.1\r\nHost: x\r\n', 4000);
    assert.equal(closed, true, 'still open after 4 s');
    assert.ok(ms >= 900, `closed after ${Math.round(ms)} ms: by the headers timeout, not at once`);
  });

  test('a plain request gets its answer without a redirect port, and HTTPS works beside it', async () => {
    const res = await fetch(`${h.gh.gatewayUrl.replace('https:', 'http:')}/x`);
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'HTTPS_REQUIRED');
    assert.equal((await fetch(`${h.gh.gatewayUrl}/livez`, { dispatcher: https })).status, 200);
  });
});

describe('gateway over HTTPS on worker threads sharing the port', () => {
  test('each worker answers plain HTTP on the HTTPS port as the main thread does, flags a key sent that way, and serves HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-workers-'));
    const cert = await ensureDevCertificate(dir);
    const h = await startHarness(
      { GATEHOUSE_GATEWAY_TLS_CERT_FILE: cert.certFile, GATEHOUSE_GATEWAY_TLS_KEY_FILE: cert.keyFile, GATEHOUSE_GATEWAY_WORKERS: '2' },
      TestClock.wall(),
    );
    try {
      const ids = await seed(h);
      const answeredBy = new Set<string>();
      for (let i = 0; i < 60 && answeredBy.size < 2; i++) {
        // A new connection each time (the kernel picks the worker per connection).
        const fresh = new Agent({ connect: { ca: readFileSync(cert.caFile) } });
        try {
          const probe = (await (await fetch(`${h.gh.gatewayUrl}/readyz`, { dispatcher: fresh })).json()) as { components: Record<string, unknown> };
          // The main thread, which serves until the workers listen, names every worker; a worker only itself.
          const workers = Object.keys(probe.components).filter((name) => /^gateway-worker-\d$/.test(name));
          if (workers.length === 1) answeredBy.add(workers[0]!);
        } finally {
          await fresh.close();
        }
      }
      assert.equal(answeredBy.size, 2, 'both workers serve HTTPS');
      const plain = h.gh.gatewayUrl.replace('https:', 'http:');
      // Connections are spread over the workers by the kernel: enough of them reach both.
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`${plain}/orders/x`);
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { code: string }).code, 'HTTPS_REQUIRED');
      }
      const before = h.upstream.requests.length;
      const leaked = await fetch(`${plain}/orders/x`, { headers: { 'x-api-key': ids.secret } });
      assert.equal(leaked.status, 403);
      assert.equal(h.upstream.requests.length, before, 'nothing was forwarded');
      await waitFor(async () => (await h.admin('GET', `/keys/${ids.keyId}`)).body.exposedAt, {
        what: 'the key sent to a worker in clear text flagged as exposed',
      });
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('gateway over plain HTTP with credentials refused', () => {
  test('an API key in the query string is refused like one in a header, and flagged as exposed', async () => {
    const h = await startHarness({ GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'refuse' });
    try {
      const ids = await seed(h);
      const before = h.upstream.requests.length;
      for (const query of [`?key=${ids.secret}`, `?api_key=${ids.secret}`, `?q=${ids.secret}`, '?access_token=abc']) {
        const res = await fetch(`${h.gh.gatewayUrl}/orders/x${query}`);
        assert.equal(res.status, 403, query);
        assert.equal(((await res.json()) as { code: string }).code, 'CREDENTIALS_OVER_HTTP');
      }
      assert.equal(h.upstream.requests.length, before, 'nothing was forwarded');
      await waitFor(async () => (await h.admin('GET', `/keys/${ids.keyId}`)).body.exposedAt, { what: 'the key flagged as exposed' });
    } finally {
      await h.close();
    }
  });
});

describe('gateway behind a TLS-terminating proxy', () => {
  test('credentials that reached the proxy over HTTP (X-Forwarded-Proto: http) are refused', async () => {
    const h = await startHarness({ GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'refuse' }, undefined, 'gateway:\n  trustedProxies: ["127.0.0.1/32"]\n');
    try {
      const ids = await seed(h);
      // Over HTTPS first: the key sent over HTTP is then exposed, and the exposure policy disables a live key.
      const overHttps = await fetch(`${h.gh.gatewayUrl}/orders/x`, { headers: { authorization: `Bearer ${ids.secret}`, 'x-forwarded-proto': 'https' } });
      assert.equal(overHttps.status, 200);
      assert.equal(overHttps.headers.get('strict-transport-security'), 'max-age=31536000');
      const overHttp = await fetch(`${h.gh.gatewayUrl}/orders/x`, { headers: { authorization: `Bearer ${ids.secret}`, 'x-forwarded-proto': 'http' } });
      assert.equal(overHttp.status, 403);
    } finally {
      await h.close();
    }
  });
});

describe('mutual TLS: per API, and API keys bound to a client certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mtls-'));
  let h: Harness;
  let https: (client?: ClientIdentity) => Agent;
  let trusted: ClientIdentity;
  let stranger: ClientIdentity;

  before(async () => {
    const server = await ensureDevCertificate(join(dir, 'server'));
    const ours = await clientPki(dir, 'ours');
    trusted = ours.client;
    stranger = (await clientPki(dir, 'theirs')).client;
    const ca = readFileSync(server.caFile);
    https = (client) => new Agent({ connect: { ca, ...(client ? { cert: client.cert, key: client.key } : {}) } });
    h = await startHarness({
      GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'refuse',
      GATEHOUSE_GATEWAY_TLS_CERT_FILE: server.certFile,
      GATEHOUSE_GATEWAY_TLS_KEY_FILE: server.keyFile,
      GATEHOUSE_GATEWAY_TLS_CLIENT_CA_FILE: ours.caFile,
    });
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string, secret: string, client?: ClientIdentity) => {
    const agent = https(client);
    try {
      return (await fetch(`${h.gh.gatewayUrl}${path}`, { headers: { authorization: `Bearer ${secret}` }, dispatcher: agent })).status;
    } finally {
      await agent.close();
    }
  };

  test('an API that requires mutual TLS refuses callers without a certificate from the client CA', async () => {
    const ids = await seed(h, {}, { mtls: true });
    assert.equal(await get('/orders/x', ids.secret, trusted), 200);
    assert.equal(await get('/orders/x', ids.secret), 401);
    assert.equal(await get('/orders/x', ids.secret, stranger), 401, 'a certificate from another CA is not trusted');
  });

  test('a key bound to a client certificate works only with that certificate', async () => {
    const api = await h.admin('POST', '/apis', { name: 'plain', listenPath: '/plain', upstreamUrl: h.upstream.url });
    const app = await h.admin('POST', '/apps', { name: 'Bound app' });
    const key = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: api.body.id }], certificateThumbprint: trusted.thumbprint });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    assert.equal(await get('/plain/x', key.body.secret, trusted), 200);
    assert.equal(await get('/plain/x', key.body.secret), 403);
    const unbound = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: api.body.id }] });
    assert.equal(await get('/plain/x', unbound.body.secret), 200, 'an unbound key needs no certificate');
  });

  test('requiring mutual TLS without client CAs configured is refused at the admin API', async () => {
    const plain = await startHarness();
    try {
      const res = await plain.admin('POST', '/apis', { name: 'x', listenPath: '/x', upstreamUrl: plain.upstream.url, mtls: true });
      assert.equal(res.status, 400);
      assert.match(JSON.stringify(res.body), /clientCaFile/);
    } finally {
      await plain.close();
    }
  });
});

describe('control plane over HTTPS', () => {
  test('with control.tls, the admin API and the issuer are HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-control-tls-'));
    const cert = await ensureDevCertificate(dir);
    const agent = new Agent({ connect: { ca: readFileSync(cert.caFile) } });
    const h = await startHarness({
      GATEHOUSE_CONTROL_TLS_CERT_FILE: cert.certFile,
      GATEHOUSE_CONTROL_TLS_KEY_FILE: cert.keyFile,
      GATEHOUSE_MASTER_KEY: 'control-tls-master-key-0123456789abcdefghijkl',
    });
    try {
      assert.match(h.gh.controlUrl, /^https:/);
      const apis = await fetch(`${h.gh.controlUrl}/admin/v1/apis`, { headers: { authorization: `Bearer ${h.adminKey}` }, dispatcher: agent });
      assert.equal(apis.status, 200);
      const discovery = (await (await fetch(`${h.gh.controlUrl}/.well-known/openid-configuration`, { dispatcher: agent })).json()) as {
        issuer: string;
        token_endpoint: string;
      };
      assert.equal(discovery.issuer, h.gh.controlUrl);
      assert.match(discovery.token_endpoint, /^https:/);
    } finally {
      await h.close();
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a new certificate in control.tls's files is served to new connections without a restart, as the gateway's is", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-control-tls-'));
    const cert = await ensureDevCertificate(join(dir, 'first'));
    const h = await startHarness({ GATEHOUSE_CONTROL_TLS_CERT_FILE: cert.certFile, GATEHOUSE_CONTROL_TLS_KEY_FILE: cert.keyFile });
    try {
      const first = await servedCertificate(h.gh.controlUrl, readFileSync(cert.caFile));
      const next = await ensureDevCertificate(join(dir, 'second'));
      copyFileSync(next.keyFile, cert.keyFile);
      copyFileSync(next.certFile, cert.certFile);
      const nextCa = readFileSync(next.caFile);
      // The files are watched: wait for the new certificate to be served, with a deadline.
      const served = await waitFor(() => servedCertificate(h.gh.controlUrl, nextCa).catch(() => null), {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'the reloaded control certificate served',
      });
      assert.notEqual(served, first);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
