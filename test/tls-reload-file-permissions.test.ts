import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { test } from 'node:test';
import pino from 'pino';
import { Health } from '../src/telemetry/health.ts';
import { ensureDevCertificate } from '../src/tls/dev-ca.ts';
import { reloadOnChange, tlsOptions, tlsReloadComponent } from '../src/tls/server-tls.ts';
import { waitFor } from './support/wait.ts';

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is shown. */
function served(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

test('TLS files replaced while running are checked as at start: a key or client CA anyone may write is refused (the old ones serve on, health and log name the setting and path, never the content), a key others may read is a warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-reload-'));
  const [first, second, third] = await Promise.all(['first', 'second', 'third'].map((name) => ensureDevCertificate(join(dir, name))));
  mkdirSync(join(dir, 'live'));
  const files = { certFile: join(dir, 'live', 'cert.pem'), keyFile: join(dir, 'live', 'key.pem'), clientCaFile: join(dir, 'live', 'client-ca.pem') };
  // Replaced whole, as a deployment does (a rename, or Kubernetes' symlink swap): the watcher never sees half a change.
  const put = (from: string, to: string, mode: number) => {
    copyFileSync(from, `${to}.new`);
    chmodSync(`${to}.new`, mode);
    renameSync(`${to}.new`, to);
  };
  put(first!.certFile, files.certFile, 0o644);
  put(first!.keyFile, files.keyFile, 0o600);
  put(first!.caFile, files.clientCaFile, 0o644);
  // A change the watcher sees, whatever the clock's granularity.
  let touches = 0;
  const touch = (file: string) => utimesSync(file, new Date(), new Date(Date.now() + ++touches * 1000));
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const health = new Health(log, Date.now);
  const server = createServer(tlsOptions(files));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stop = reloadOnChange(server, files, { settings: 'gateway.tls', health, log }, 20);
  const component = tlsReloadComponent('gateway.tls');
  const state = () => health.report().components[component];
  const fingerprint = async (file: string) => {
    const { X509Certificate } = await import('node:crypto');
    return new X509Certificate(readFileSync(file)).fingerprint256;
  };
  try {
    assert.equal(await served(port), await fingerprint(first!.certFile));

    // A new pair whose key anyone may write: refused, the first certificate serves on.
    put(second!.keyFile, files.keyFile, 0o666);
    put(second!.certFile, files.certFile, 0o644);
    const refused = await waitFor(() => (state()?.ok === false ? state()!.lastError : null), { timeoutMs: 5000, what: 'the refused key reported' });
    assert.match(refused, /gateway\.tls\.keyFile/);
    assert.ok(refused.includes(files.keyFile), refused);
    assert.equal(health.report().ready, true, 'not critical: the old files serve on');
    assert.equal(await served(port), await fingerprint(first!.certFile), 'the old certificate is still served');

    // Made owner-only, the pair is taken.
    chmodSync(files.keyFile, 0o600);
    touch(files.keyFile);
    await waitFor(async () => (await served(port)) === (await fingerprint(second!.certFile)), { timeoutMs: 5000, what: 'the second pair served' });
    await waitFor(() => state()?.ok === true, { what: 'the reload reported ok' });

    // A client CA anyone may write (anyone could add a CA of their own) refuses the whole reload.
    put(third!.caFile, files.clientCaFile, 0o666);
    put(third!.keyFile, files.keyFile, 0o600);
    put(third!.certFile, files.certFile, 0o644);
    const refusedCa = await waitFor(() => (state()?.ok === false ? state()!.lastError : null), { timeoutMs: 5000, what: 'the refused CA reported' });
    assert.match(refusedCa, /gateway\.tls\.clientCaFile/);
    assert.ok(refusedCa.includes(files.clientCaFile), refusedCa);
    assert.equal(await served(port), await fingerprint(second!.certFile), 'the second certificate is still served');

    // A key others may read is served, with a warning naming it.
    chmodSync(files.keyFile, 0o644);
    chmodSync(files.clientCaFile, 0o644);
    touch(files.certFile);
    await waitFor(async () => (await served(port)) === (await fingerprint(third!.certFile)), { timeoutMs: 5000, what: 'the third pair served' });
    const warned = () => lines.map((line) => JSON.parse(line) as { level: number; setting?: string; file?: string; msg: string }).filter((l) => l.level === 40);
    await waitFor(() => warned().some((l) => l.setting === 'gateway.tls.keyFile' && l.file === files.keyFile && /readable by others/.test(l.msg)), {
      what: 'the warning naming the key',
    });
    // Named, never read out: no key material in the log.
    for (const key of [first!.keyFile, second!.keyFile, third!.keyFile]) {
      const body = readFileSync(key, 'utf8').split('\n')[1]!;
      assert.ok(!lines.join('').includes(body), 'no key content in the log');
    }
  } finally {
    stop();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
