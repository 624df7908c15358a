import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureDevCertificate, type DevCertificate } from '../src/tls/dev-ca.ts';
import { json, runCli } from './support/cli.ts';

/**
 * With `control.tls` (README, "Running it for real") the admin API is HTTPS with the operator's own
 * certificate. A CLI that does not trust it must say so, not ask whether Gatehouse is running.
 */
describe('the CLI says why it got no answer from the admin API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-unreachable-'));
  let cert: DevCertificate;
  let server: Server;
  let url = '';
  const env = () => ({ GATEHOUSE_URL: url, GATEHOUSE_ADMIN_KEY: `gka_live_${'A'.repeat(30)}` });

  before(async () => {
    cert = await ensureDevCertificate(dir);
    // A stand-in for the admin API over HTTPS: an empty list of keys.
    server = createHttpsServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ items: [], nextCursor: null }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test('an HTTPS admin API whose certificate is not trusted: exit 1, naming the certificate and NODE_EXTRA_CA_CERTS', async () => {
    const run = await runCli(['keys', 'list'], env());
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot reach the admin API at https:\/\/127\.0\.0\.1:\d+: its TLS certificate is not trusted here/);
    assert.match(run.stderr, /NODE_EXTRA_CA_CERTS/);
    assert.doesNotMatch(run.stderr, /is gatehouse running/);
    assert.doesNotMatch(run.stderr, /gka_live_/, 'the admin key is never echoed');
  });

  test('with its CA in NODE_EXTRA_CA_CERTS, as the message says, the same command works', async () => {
    const list = json(await runCli(['keys', 'list', '--json'], { ...env(), NODE_EXTRA_CA_CERTS: cert.caFile }));
    assert.deepEqual(list.items, []);
  });

  test('nothing listening: the connection error is named, with the question whether Gatehouse runs', async () => {
    const closed = createNetServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const run = await runCli(['keys', 'list'], { ...env(), GATEHOUSE_URL: `http://127.0.0.1:${port}` });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(is gatehouse running\? set GATEHOUSE_URL\)/);
  });
});
