import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { startGatehouse } from '../src/gatehouse.ts';
import { capturedLog } from './support/captured-log.ts';

const PEPPER = 'pepper-C-0123456789abcdefghijklmnopqrstuvwxyz';
const MASTER = 'master-key-D-0123456789abcdefghijklmnopqrstuvwxyz';
const STORE_PASSWORD = 'store-password-E-0123456789';

function withDir(run: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-secret-modes-'));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function secret(dir: string, name: string, value: string, mode: number): string {
  const file = join(dir, name);
  writeFileSync(file, value);
  chmodSync(file, mode);
  return file;
}

test(
  'a secrets file others may read, or its group write, loads with a warning naming its setting and path; owner-only and group-read ones do not',
  withDir((dir) => {
    const pepper = secret(dir, 'pepper', PEPPER, 0o644);
    const master = secret(dir, 'master', MASTER, 0o660);
    const password = secret(dir, 'store-password', STORE_PASSWORD, 0o600);
    const yaml = join(dir, 'gatehouse.yaml');
    writeFileSync(yaml, `secrets:\n  masterKeyFile: ${master}\nstore:\n  passwordFile: ${password}\n`);
    const config = loadConfig({ file: yaml, env: { GATEHOUSE_DATA_DIR: dir, GATEHOUSE_PEPPER_FILE: pepper } });
    assert.equal(config.peppers.length, 1);
    assert.deepEqual(
      config.secretFileWarnings.map(({ setting, file }) => ({ setting, file })),
      [
        { setting: 'GATEHOUSE_PEPPER_FILE', file: pepper },
        { setting: 'secrets.masterKeyFile', file: master },
      ],
    );
    assert.match(config.secretFileWarnings[0]!.problem, /readable by others/);
    assert.match(config.secretFileWarnings[1]!.problem, /writable by its group/);
    const text = JSON.stringify(config.secretFileWarnings);
    for (const value of [PEPPER, MASTER, STORE_PASSWORD]) assert.ok(!text.includes(value));

    // Owner-only, or readable by a group (the service's): nothing to say.
    chmodSync(pepper, 0o400);
    chmodSync(master, 0o640);
    assert.deepEqual(loadConfig({ file: yaml, env: { GATEHOUSE_DATA_DIR: dir, GATEHOUSE_PEPPER_FILE: pepper } }).secretFileWarnings, []);
  }),
);

test(
  'a secrets file anyone may write is refused, naming the setting and path, never the content',
  withDir((dir) => {
    for (const [setting, env, value] of [
      ['GATEHOUSE_PEPPER_FILE', (f: string) => ({ GATEHOUSE_PEPPER_FILE: f }), PEPPER],
      ['secrets.masterKeyFile', (f: string) => ({ GATEHOUSE_PEPPER: PEPPER, GATEHOUSE_SECRETS_MASTER_KEY_FILE: f }), MASTER],
      ['store.passwordFile', (f: string) => ({ GATEHOUSE_PEPPER: PEPPER, GATEHOUSE_STORE_PASSWORD_FILE: f }), STORE_PASSWORD],
    ] as const) {
      const file = secret(dir, setting, value, 0o646);
      assert.throws(
        () => loadConfig({ env: { GATEHOUSE_DATA_DIR: dir, ...env(file) } }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.message.includes(setting) &&
          error.message.includes(file) &&
          /writable by anyone/.test(error.message) &&
          !error.message.includes(value),
      );
    }
  }),
);

test(
  'at start, each loose secrets file is logged once as a warning with its setting and path, not its content',
  withDir(async (dir) => {
    const pepper = secret(dir, 'pepper', PEPPER, 0o444);
    const { logger, lines } = capturedLog('warn');
    const config = loadConfig({
      env: {
        GATEHOUSE_DATA_DIR: dir,
        GATEHOUSE_PEPPER_FILE: pepper,
        GATEHOUSE_GATEWAY_PORT: '0',
        GATEHOUSE_CONTROL_PORT: '0',
        GATEHOUSE_GATEWAY_WORKERS: '1',
        GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'allow',
      },
    });
    const gh = await startGatehouse(config, { logger });
    await gh.close();
    const warnings = lines.filter((line) => line.setting === 'GATEHOUSE_PEPPER_FILE');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.file, pepper);
    assert.equal(warnings[0]!.level, 40);
    assert.match(String(warnings[0]!.msg), /readable by others/);
    assert.ok(!JSON.stringify(lines).includes(PEPPER));
  }),
);

test(
  'a TLS key others may read is a warning, one anyone may write refused; a CA file anyone may write is refused (anyone could add a CA), one others may read is fine',
  withDir((dir) => {
    const key = secret(dir, 'key.pem', 'not read here', 0o644);
    const cert = secret(dir, 'cert.pem', 'not read here', 0o644);
    const env = {
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_PEPPER: PEPPER,
      GATEHOUSE_GATEWAY_TLS_CERT_FILE: cert,
      GATEHOUSE_GATEWAY_TLS_KEY_FILE: key,
    };
    assert.deepEqual(
      loadConfig({ env }).secretFileWarnings.map(({ setting, file }) => ({ setting, file })),
      [{ setting: 'gateway.tls.keyFile', file: key }],
    );
    chmodSync(key, 0o666);
    assert.throws(
      () => loadConfig({ env }),
      (error: unknown) => error instanceof ConfigError && error.message.includes('gateway.tls.keyFile') && error.message.includes(key),
    );
    chmodSync(key, 0o600);
    for (const [variable, setting] of [
      ['GATEHOUSE_GATEWAY_TLS_CLIENT_CA_FILE', 'gateway.tls.clientCaFile'],
      ['GATEHOUSE_REDIS_CA_FILE', 'redis.caFile'],
      ['GATEHOUSE_WEBHOOKS_CA_FILE', 'webhooks.caFile'],
    ] as const) {
      const ca = secret(dir, `${setting}.pem`, 'not read here', 0o666);
      assert.throws(
        () => loadConfig({ env: { ...env, [variable]: ca } }),
        (error: unknown) => error instanceof ConfigError && error.message.includes(setting) && error.message.includes(ca),
      );
      chmodSync(ca, 0o644);
      assert.deepEqual(loadConfig({ env: { ...env, [variable]: ca } }).secretFileWarnings, []);
    }
  }),
);
