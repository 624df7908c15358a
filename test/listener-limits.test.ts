import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createControlServer } from '../src/control/control-server.ts';
import { createRedirectServer } from '../src/gateway/redirect-server.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../src/http/connection-limits.ts';
import { closeServer, listen } from '../src/http/listening.ts';
import { ensureDevCertificate } from '../src/tls/dev-ca.ts';
import { tlsOptions } from '../src/tls/server-tls.ts';
import { HTTPS_GATEWAY, startHarness, type Harness } from './support/harness.ts';
import { beyondCap, raw } from './support/raw-connection.ts';

/**
 * The control listener serves sign-in pages and the authorization server to the world, so a client
 * that trickles its request, sends a huge head or opens connections and sends nothing is cut off
 * there as on the gateway (control.* has the gateway's connection settings). Node's own defaults
 * (a 60 s head timer checked every 30 s, 120 s for a TLS handshake, no cap) held such a client for minutes.
 */
describe('control listener limits: slow heads, large heads, too many connections', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      GATEHOUSE_CONTROL_HEADERS_TIMEOUT_SECONDS: '1',
      GATEHOUSE_CONTROL_MAX_HEADER_BYTES: '2048',
      GATEHOUSE_CONTROL_MAX_CONNECTIONS: '4',
    });
  });
  after(() => h.close());

  test('a client that sends its head too slowly is cut off after control.headersTimeoutSeconds', async () => {
    // Node's own timer is under test, so this waits in real time; 4 s is only the deadline.
    const { closed, text, ms } = await raw(h.gh.controlUrl, 'GET /livez HTTP/1.1\r\nHost: x\r\n', 4000);
    assert.equal(closed, true, 'still open after 4 s');
    assert.ok(ms >= 900, `closed after ${Math.round(ms)} ms: by the headers timeout, not at once`);
    assert.match(text, /^HTTP\/1\.1 408|^$/);
  });

  test('a head larger than control.maxHeaderBytes gets 431', async () => {
    const small = await raw(h.gh.controlUrl, 'GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(small.text, /^HTTP\/1\.1 200/, 'a normal head passes');
    const { text } = await raw(h.gh.controlUrl, `GET /livez HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(4000)}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 431/);
  });

  test('connections beyond control.maxConnections are closed at once, without an answer', async () => {
    const { closed, text } = await beyondCap(h.gh.controlUrl, 4, 'GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(closed, true);
    assert.equal(text, '', 'no answer: the connection was dropped');
  });
});

describe('HTTPS listeners: a client that never finishes its TLS handshake', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ GATEHOUSE_TEST_GATEWAY: HTTPS_GATEWAY, GATEHOUSE_GATEWAY_HEADERS_TIMEOUT_SECONDS: '1' });
  });
  after(() => h.close());

  test('is cut off after the headers timeout, not Node’s 120 s handshake timeout', async () => {
    assert.match(h.gh.gatewayUrl, /^https:/);
    // Connects and says nothing: no ClientHello, so no HTTP head timer has started yet.
    const { closed, ms } = await raw(h.gh.gatewayUrl, '', 4000);
    assert.equal(closed, true, 'still open after 4 s');
    assert.ok(ms >= 900, `closed after ${Math.round(ms)} ms: by the timeout, not at once`);
  });
});

/** The control listener over HTTPS and the redirect listener, each made as `start` makes it, on a real socket. */
describe('control over HTTPS, and the plain-HTTP redirect listener', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-listener-limits-'));
  const limits = { ...DEFAULT_CONNECTION_LIMITS, headersMs: 1000, maxConnections: 2 };
  const servers: Server[] = [];
  after(async () => {
    await Promise.all(servers.map(closeServer));
    rmSync(dir, { recursive: true, force: true });
  });
  const listening = (server: Server, scheme: 'http' | 'https' = 'http') => (servers.push(server), listen(server, '127.0.0.1', 0, scheme));

  test('the control listener cuts off a client that never finishes its TLS handshake', async () => {
    const cert = await ensureDevCertificate(dir);
    const url = await listening(
      createControlServer({
        admin: null,
        authorization: () => null,
        health: () => ({ ready: true, components: {} }),
        tls: tlsOptions({ certFile: cert.certFile, keyFile: cert.keyFile }),
        limits,
      }),
      'https',
    );
    const { closed, ms } = await raw(url, '', 4000);
    assert.equal(closed, true, 'still open after 4 s');
    assert.ok(ms >= 900, `closed after ${Math.round(ms)} ms: by the timeout, not at once`);
  });

  test('the redirect listener has the gateway’s connection cap and a headers timeout', async () => {
    const url = await listening(
      createRedirectServer(
        'api.example.com',
        () => 443,
        () => {},
        limits,
      ),
    );
    const slow = await raw(url, 'GET / HTTP/1.1\r\nHost: x\r\n', 4000);
    assert.equal(slow.closed, true, 'a slow head: still open after 4 s');
    assert.ok(slow.ms >= 900, `closed after ${Math.round(slow.ms)} ms: by the headers timeout, not at once`);
    // Two connections that have not finished their heads fill the cap; a third is closed at once.
    const held = [raw(url, 'GET / HTTP/1.1\r\n', 4000), raw(url, 'GET / HTTP/1.1\r\n', 4000)];
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = await raw(url, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 2000);
    assert.equal(third.closed, true);
    assert.equal(third.text, '', 'no answer: the connection was dropped');
    await Promise.all(held);
  });
});
