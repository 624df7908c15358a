import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { raw } from '../../test/support/raw-connection.ts';
import { ensureDevCertificate } from '../tls/dev-ca.ts';
import { tlsOptions } from '../tls/server-tls.ts';
import { limitedServerOptions, DEFAULT_CONNECTION_LIMITS } from './connection-limits.ts';
import { closeServer, listen } from './listening.ts';
import { answerPlainHttp } from './plain-http-on-tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-plain-on-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a stop cuts a plain-HTTP connection still sending its head at once, as it cuts TLS ones, and the server closes', async () => {
  const cert = await ensureDevCertificate(dir);
  // Long timeouts: only closeAllConnections can end the trickling connection within the test.
  const limits = { ...DEFAULT_CONNECTION_LIMITS, headersMs: 30_000, requestMs: 60_000 };
  const server = createHttpsServer({ ...limitedServerOptions(limits), ...tlsOptions({ certFile: cert.certFile, keyFile: cert.keyFile }) }, (_req, res) =>
    res.end('tls'),
  );
  const plain = createServer(limitedServerOptions(limits), (_req, res) => res.writeHead(400, { connection: 'close' }).end('plain'));
  answerPlainHttp(server, plain, limits.headersMs);
  const url = await listen(server, '127.0.0.1', 0, 'https');
  const agent = new Agent({ connect: { ca: readFileSync(cert.caFile) } });
  try {
    assert.equal(await (await fetch(url, { dispatcher: agent })).text(), 'tls');
    const answered = await raw(url.replace('https:', 'http:'), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 4000);
    assert.match(answered.text, /^HTTP\/1\.1 400 [^]*\r\nplain\r\n/);
    assert.equal(answered.closed, true);

    const trickling = raw(url.replace('https:', 'http:'), 'GET / HTTP/1.1\r\nHost: x\r\n', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    await closeServer(server);
    assert.ok(performance.now() - started < 2000, 'the server closed without waiting for the trickling client');
    const { closed, ms } = await trickling;
    assert.equal(closed, true);
    assert.ok(ms < 3000, `the plain connection was cut at the stop, after ${Math.round(ms)} ms`);
  } finally {
    await agent.close();
    if (server.listening) await closeServer(server);
  }
});

test('only a server with nothing but Node’s TLS connection listener is accepted', () => {
  const server = createHttpsServer({});
  server.on('connection', () => {});
  assert.throws(() => answerPlainHttp(server, createServer(), 1000), /only Node's TLS 'connection' listener/);
});
