import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { raw } from '../../test/support/raw-connection.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../http/connection-limits.ts';
import { closeServer, listen } from '../http/listening.ts';
import { ensureDevCertificate } from '../tls/dev-ca.ts';
import { tlsOptions } from '../tls/server-tls.ts';
import { createRedirectServer } from './redirect-server.ts';
import { createGatewayServer } from './server.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-plain-expect-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A head that asks leave to send its body (RFC 9110 §10.1.1), which is not sent: a `100 Continue`
// would have the client send it in clear text, to a listener that refuses it unread.
const EXPECTING = 'POST /orders/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\nContent-Length: 14\r\nExpect: 100-continue\r\n\r\n';

test('the HTTPS port refuses plain HTTP that expects 100-continue at once, never inviting its body in clear text', async () => {
  const cert = await ensureDevCertificate(dir);
  const server = createGatewayServer({ pipeline: [], tls: tlsOptions({ certFile: cert.certFile, keyFile: cert.keyFile }) });
  const url = await listen(server, '127.0.0.1', 0, 'https');
  try {
    const { text, closed } = await raw(url.replace('https:', 'http:'), EXPECTING, 4000);
    assert.equal(closed, true);
    assert.doesNotMatch(text, /100 Continue/);
    assert.match(text, /^HTTP\/1\.1 403 [^]*CREDENTIALS_OVER_HTTP/);
  } finally {
    await closeServer(server);
  }
});

test('the redirect listener refuses a request with an Expect header as it refuses any other, never inviting its body in clear text', async () => {
  const server = createRedirectServer(
    'gw.example',
    () => 443,
    () => {},
    DEFAULT_CONNECTION_LIMITS,
  );
  const url = await listen(server, '127.0.0.1', 0);
  try {
    const { text, closed } = await raw(url, EXPECTING, 4000);
    assert.equal(closed, true);
    assert.doesNotMatch(text, /100 Continue/);
    assert.match(text, /^HTTP\/1\.1 403 [^]*CREDENTIALS_OVER_HTTP/);
    // Another expectation: Node would answer 417 itself, and the credentials would go unseen.
    const other = await raw(url, 'GET /x HTTP/1.1\r\nHost: x\r\nX-API-Key: anything\r\nExpect: something-else\r\n\r\n', 4000);
    assert.match(other.text, /^HTTP\/1\.1 403 [^]*CREDENTIALS_OVER_HTTP/);
    // Without credentials: the redirect itself, still without inviting the body first.
    const redirected = await raw(url, 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n', 4000);
    assert.match(redirected.text, /^HTTP\/1\.1 308 /);
  } finally {
    await closeServer(server);
  }
});
