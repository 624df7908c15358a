import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { Agent, fetch } from 'undici';
import { ensureDevCertificate } from '../src/tls/dev-ca.ts';
import { capturedLog } from './support/captured-log.ts';
import { startHarness, TestClock } from './support/harness.ts';
import { waitFor } from './support/wait.ts';

test('a gateway worker started again after a crash refuses a TLS key made writable by anyone since start: it does not serve with it, the node is unready, and the log names the file and why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-worker-modes-'));
  const cert = await ensureDevCertificate(dir);
  // Gateway workers by their thread's name: the store threads are workers too.
  const workers = new Map<string, Worker>();
  const seen = (worker: Worker) => void (worker.threadName?.startsWith('gateway-worker-') && workers.set(worker.threadName, worker));
  process.on('worker', seen);
  const { logger, lines } = capturedLog('info');
  const h = await startHarness(
    { GATEHOUSE_GATEWAY_TLS_CERT_FILE: cert.certFile, GATEHOUSE_GATEWAY_TLS_KEY_FILE: cert.keyFile, GATEHOUSE_GATEWAY_WORKERS: '2' },
    TestClock.wall(),
    undefined,
    { logger },
  );
  const https = new Agent({ connect: { ca: readFileSync(cert.caFile) } });
  try {
    await waitFor(() => h.gh.health.report().ready, { what: 'the node ready with both workers', timeoutMs: 10_000 });
    chmodSync(cert.keyFile, 0o666);
    // A crash: the worker thread ends without its stop.
    await workers.get('gateway-worker-0')!.terminate();
    const refused = await waitFor(
      () => {
        const error = h.gh.health.report().components['gateway-worker-0']?.lastError ?? '';
        return /gateway\.tls\.keyFile/.test(error) && /writable by anyone/.test(error) && error;
      },
      { what: 'readiness naming the refused key file', timeoutMs: 10_000 },
    );
    assert.match(refused, new RegExp(cert.keyFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.equal(h.gh.health.report().ready, false, 'the node is unready while a worker cannot start');
    const logged = lines.find((l) => JSON.stringify(l).includes('gateway.tls.keyFile') && JSON.stringify(l).includes('writable by anyone'));
    assert.ok(logged, 'the log says which file and why');
    assert.equal(logged.level, 50);
    // The other worker serves on, with the key it read at start.
    assert.equal((await fetch(`${h.gh.gatewayUrl}/livez`, { dispatcher: https })).status, 200);
    // Made owner-only again, the worker starts on a later try, and the node is ready again.
    chmodSync(cert.keyFile, 0o600);
    await waitFor(() => h.gh.health.report().ready, { what: 'the node ready again', timeoutMs: 20_000 });
  } finally {
    process.off('worker', seen);
    await https.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
