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

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-plain-connect-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'gk_test_0123456789abcdefghijklmnopqrstuv';
// CONNECT and Upgrade requests are not 'request's to Node's HTTP server: without a listener of their
// own, Node drops the connection unanswered, and the key that crossed the network in clear goes unseen.
const HEADS = {
  CONNECT: `CONNECT upstream.example:443 HTTP/1.1\r\nHost: upstream.example:443\r\nX-API-Key: ${KEY}\r\n\r\n`,
  Upgrade: `GET /orders HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-API-Key: ${KEY}\r\n\r\n`,
};

for (const [kind, head] of Object.entries(HEADS)) {
  test(`the redirect listener refuses a plain-HTTP ${kind} request carrying a key and reports the key`, async () => {
    const exposed: string[] = [];
    const server = createRedirectServer(
      'gw.example',
      () => 443,
      (key) => void exposed.push(key),
      DEFAULT_CONNECTION_LIMITS,
    );
    const url = await listen(server, '127.0.0.1', 0);
    try {
      const { text, closed } = await raw(url, head, 4000);
      assert.equal(closed, true);
      assert.match(text, /^HTTP\/1\.1 403 [^]*CREDENTIALS_OVER_HTTP/);
      assert.doesNotMatch(text, new RegExp(KEY));
      assert.deepEqual(exposed, [KEY]);
    } finally {
      await closeServer(server);
    }
  });

  test(`the HTTPS port refuses a plain-HTTP ${kind} request carrying a key and reports the key`, async () => {
    const cert = await ensureDevCertificate(dir);
    const exposed: string[] = [];
    const server = createGatewayServer({
      pipeline: [],
      tls: tlsOptions({ certFile: cert.certFile, keyFile: cert.keyFile }),
      onPlainHttpExposed: (key) => void exposed.push(key),
    });
    const url = await listen(server, '127.0.0.1', 0, 'https');
    try {
      const { text, closed } = await raw(url.replace('https:', 'http:'), head, 4000);
      assert.equal(closed, true);
      assert.match(text, /^HTTP\/1\.1 403 [^]*CREDENTIALS_OVER_HTTP/);
      assert.deepEqual(exposed, [KEY]);
    } finally {
      await closeServer(server);
    }
  });
}

test('the redirect listener answers a plain-HTTP CONNECT without credentials instead of dropping it', async () => {
  const server = createRedirectServer(
    'gw.example',
    () => 443,
    () => {},
    DEFAULT_CONNECTION_LIMITS,
  );
  const url = await listen(server, '127.0.0.1', 0);
  try {
    const { text, closed } = await raw(url, 'CONNECT upstream.example:443 HTTP/1.1\r\nHost: upstream.example:443\r\n\r\n', 4000);
    assert.equal(closed, true);
    assert.match(text, /^HTTP\/1\.1 400 [^]*VALIDATION_FAILED/);
  } finally {
    await closeServer(server);
  }
});
