import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SecretFileWarning } from '../config/file-modes.ts';
import { ensureDevCertificate } from './dev-ca.ts';
import { checkedTlsOptions } from './server-tls.ts';

test('a listener started while running (a gateway worker started again) refuses a client CA or key anyone may write, naming the file and why; a key others may read is a warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-modes-'));
  try {
    const cert = await ensureDevCertificate(dir);
    const files = { certFile: cert.certFile, keyFile: cert.keyFile, clientCaFile: cert.caFile };
    chmodSync(cert.keyFile, 0o600);
    chmodSync(cert.caFile, 0o644);
    const none: SecretFileWarning[] = [];
    assert.ok(checkedTlsOptions(files, 'gateway.tls', none).key);
    assert.deepEqual(none, []);

    chmodSync(cert.caFile, 0o666);
    assert.throws(
      () => checkedTlsOptions(files, 'gateway.tls', []),
      /^Error: gateway\.tls\.clientCaFile: the CA file .*ca\.pem is writable by anyone \(mode 0666\)/,
    );
    chmodSync(cert.caFile, 0o644);

    chmodSync(cert.keyFile, 0o602);
    assert.throws(() => checkedTlsOptions(files, 'gateway.tls', []), /^Error: gateway\.tls\.keyFile: the secrets file .*key\.pem is writable by anyone/);

    chmodSync(cert.keyFile, 0o644);
    const warnings: SecretFileWarning[] = [];
    checkedTlsOptions(files, 'gateway.tls', warnings);
    assert.deepEqual(warnings, [{ setting: 'gateway.tls.keyFile', file: cert.keyFile, problem: 'readable by others (mode 0644)' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
