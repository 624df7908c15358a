import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { connectionLimitsOf, limitedServerOptions } from '../src/http/connection-limits.ts';
import { gatewayPublicHost } from '../src/config/schema.ts';
import { adminKeysService } from '../src/control/services/admin-keys.ts';
import { ADMIN_PERMISSIONS } from '../src/domain/permissions.ts';
import { startGatehouse, type Gatehouse } from '../src/gatehouse.ts';
import { listen } from './support/harness.ts';
import { TEST_MASTER_KEY } from './support/oauth.ts';

const PEPPER_A = 'pepper-A-0123456789abcdefghijklmnopqrstuvwxyz';
const PEPPER_B = 'pepper-B-0123456789abcdefghijklmnopqrstuvwxyz';
const PEPPER_C = 'pepper-C-0123456789abcdefghijklmnopqrstuvwxyz';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeYaml(text: string, name = 'gatehouse.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Runs `fn`, expecting a ConfigError, and returns its message. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected loadConfig to throw');
}

describe('loadConfig', () => {
  test('without a file it uses the defaults', () => {
    const config = loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } });
    assert.equal(config.gateway.host, '127.0.0.1');
    assert.equal(config.gateway.port, 8080);
    assert.equal(config.gateway.maxHeaderBytes, 16_384);
    assert.equal(config.control.host, '127.0.0.1');
    assert.equal(config.control.port, 8081);
    assert.equal(config.store.driver, 'sqlite');
    assert.equal(config.storePath, join(dir, 'gatehouse.db'));
    assert.equal(config.cache.keyEntries, 100_000);
    assert.equal(config.cache.keyTtlSeconds, 60);
    assert.equal(config.cache.negativeTtlSeconds, 10);
    assert.equal(config.usage.flushIntervalSeconds, 5);
    assert.equal(config.authFailures.limit, 30);
    assert.equal(config.admin.maxBodyBytes, 65_536);
    assert.equal(config.log.level, 'info');
    assert.deepEqual(config.apis, []);
    assert.equal(config.masterKey, null);
    assert.equal(config.peppers.length, 1);
  });

  test('sign-in throttles default to 5 per (account, address) and 20 per address per 15 min, 100 per account per hour', () => {
    const { login } = loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } }).authorization;
    assert.deepEqual(login, {
      accountAddressFailureLimit: 5,
      accountAddressWindowSeconds: 900,
      ipFailureLimit: 20,
      ipWindowSeconds: 900,
      accountFailureLimit: 100,
      accountWindowSeconds: 3600,
      deviceFailureLimit: 10,
      deviceCookieDays: 90,
    });
  });

  test('a per-account sign-in bar below the per-(account, address) one is refused: one address could slow the account', () => {
    const env = { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir };
    assert.match(
      configError(() => loadConfig({ env: { ...env, GATEHOUSE_AUTHORIZATION_LOGIN_ACCOUNT_FAILURE_LIMIT: '4' } })),
      /authorization\.login.*per-account bar/s,
    );
    assert.match(
      configError(() => loadConfig({ env: { ...env, GATEHOUSE_AUTHORIZATION_LOGIN_ACCOUNT_WINDOW_SECONDS: '86400' } })),
      /per-account bar/,
    );
  });

  test('usage analytics are written every 30 s by default, apart from usage (every 5 s); each has its own variable', () => {
    const env = { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir };
    const defaults = loadConfig({ env });
    assert.deepEqual([defaults.usage.flushIntervalSeconds, defaults.analytics.flushIntervalSeconds], [5, 30]);
    const set = loadConfig({ env: { ...env, GATEHOUSE_ANALYTICS_FLUSH_INTERVAL_SECONDS: '10' } });
    assert.deepEqual([set.usage.flushIntervalSeconds, set.analytics.flushIntervalSeconds], [5, 10]);
  });

  test('the default data dir is ./.gatehouse and the store lives in it', () => {
    const config = loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_A } });
    assert.equal(config.dataDir, './.gatehouse');
    assert.equal(config.storePath, resolve('./.gatehouse/gatehouse.db'));
  });

  test('values from the YAML file are used', () => {
    const file = writeYaml(`gateway:\n  port: 9000\ncache:\n  keyTtlSeconds: 30\nlog:\n  level: warn\ndataDir: ${dir}\n`);
    const config = loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_A } });
    assert.equal(config.gateway.port, 9000);
    assert.equal(config.cache.keyTtlSeconds, 30);
    assert.equal(config.log.level, 'warn');
    assert.equal(config.control.port, 8081);
  });

  test('GATEHOUSE_GATEWAY_PORT and GATEHOUSE_CACHE_KEY_TTL_SECONDS override the file', () => {
    const file = writeYaml(`gateway:\n  port: 9000\ncache:\n  keyTtlSeconds: 30\n`);
    const config = loadConfig({
      file,
      env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir, GATEHOUSE_GATEWAY_PORT: '9100', GATEHOUSE_CACHE_KEY_TTL_SECONDS: '5' },
    });
    assert.equal(config.gateway.port, 9100);
    assert.equal(config.cache.keyTtlSeconds, 5);
    assert.equal(config.dataDir, dir);
  });

  test('list settings come from the environment too, comma-separated, and [] empties one', () => {
    const env = { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir };
    const config = loadConfig({
      env: {
        ...env,
        GATEHOUSE_AUTHORIZATION_MFA_REQUIRED_CONSOLE_ROLES: 'admin, operator,auditor',
        GATEHOUSE_METRICS_ALLOW_FROM: '10.0.0.0/8,192.168.1.0/24',
        GATEHOUSE_GATEWAY_TRUSTED_PROXIES: '[]',
      },
      file: writeYaml('gateway:\n  trustedProxies: [10.1.0.0/16]\n'),
    });
    assert.deepEqual(config.authorization.mfaRequiredConsoleRoles, ['admin', 'operator', 'auditor']);
    assert.deepEqual(config.metrics.allowFrom, ['10.0.0.0/8', '192.168.1.0/24']);
    assert.deepEqual(config.gateway.trustedProxies, []);
    const message = configError(() => loadConfig({ env: { ...env, GATEHOUSE_AUTHORIZATION_MFA_REQUIRED_CONSOLE_ROLES: 'admin,root' } }));
    assert.match(message, /GATEHOUSE_AUTHORIZATION_MFA_REQUIRED_CONSOLE_ROLES/);
  });

  test('an empty environment variable does not override the file', () => {
    const file = writeYaml(`gateway:\n  port: 9000\n`);
    const config = loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir, GATEHOUSE_GATEWAY_PORT: '' } });
    assert.equal(config.gateway.port, 9000);
  });

  test('a non-numeric gateway.port in the file is a ConfigError naming gateway.port and the file', () => {
    const file = writeYaml(`gateway:\n  port: "abc"\n`);
    const message = configError(() => loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /gateway\.port/);
    assert.ok(message.includes(file), message);
  });

  test('an out-of-range port from the environment is a ConfigError naming gateway.port', () => {
    const message = configError(() => loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir, GATEHOUSE_GATEWAY_PORT: '70000' } }));
    assert.match(message, /gateway\.port/);
  });

  test('a listener whose headers timeout is longer than its request timeout is a ConfigError, not a crash at start', () => {
    const env = { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir };
    // Node would refuse these when the server is made, after the gateway was already serving.
    assert.match(
      configError(() => loadConfig({ env: { ...env, GATEHOUSE_CONTROL_REQUEST_TIMEOUT_SECONDS: '10' } })),
      /control\.headersTimeoutSeconds/,
    );
    assert.match(
      configError(() => loadConfig({ env: { ...env, GATEHOUSE_GATEWAY_HEADERS_TIMEOUT_SECONDS: '61' } })),
      /gateway\.headersTimeoutSeconds/,
    );
  });

  test('fractional timeouts become whole milliseconds, which Node takes', () => {
    const config = loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir, GATEHOUSE_CONTROL_KEEP_ALIVE_TIMEOUT_SECONDS: '2.01' } });
    const limits = connectionLimitsOf(config.control);
    assert.equal(limits.keepAliveMs, 2010);
    createServer(limitedServerOptions(limits)).close();
  });

  test('an unknown key in a section is a ConfigError naming the section and the key', () => {
    const file = writeYaml(`gateway:\n  prot: 9000\n`);
    const message = configError(() => loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /gateway/);
    assert.match(message, /prot/);
  });

  test('an unknown top-level key is a ConfigError naming the key', () => {
    const file = writeYaml(`gatewy:\n  port: 9000\n`);
    const message = configError(() => loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /gatewy/);
  });

  test('a secret value written into the file is refused: secrets come only from the environment or files', () => {
    const file = writeYaml(`secrets:\n  pepper: ${PEPPER_A}\n`);
    const message = configError(() => loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_B, GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /secrets/);
    assert.match(message, /pepper/);
    assert.ok(!message.includes(PEPPER_A), 'the error does not echo the secret');
  });

  test('invalid YAML is a ConfigError saying so and naming the file', () => {
    const file = writeYaml(`gateway:\n  port: [9000\n  host: "x\n`);
    const message = configError(() => loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /not valid YAML/);
    assert.ok(message.includes(file), message);
  });

  test('a missing config file is a ConfigError naming the file', () => {
    const file = join(dir, 'missing.yaml');
    const message = configError(() => loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /cannot read config file/);
    assert.ok(message.includes(file), message);
  });

  test('an invalid API declared in the file is a ConfigError naming its field', () => {
    const file = writeYaml(`apis:\n  - name: billing\n    listenPath: billing\n    upstreamUrl: http://127.0.0.1:1\n`);
    const message = configError(() => loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /apis\.0\.listenPath/);
  });

  test('a declared API whose listen path is not canonical (/../admin) is a ConfigError naming the field', () => {
    for (const listenPath of ['/../admin', '/api/./x', '/api/..']) {
      const file = writeYaml(`apis:\n  - name: billing\n    listenPath: ${listenPath}\n    upstreamUrl: http://127.0.0.1:1\n`);
      const message = configError(() => loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } }));
      assert.match(message, /apis\.0\.listenPath: a listen path must be in canonical form/, listenPath);
    }
    const pattern = writeYaml(
      `apis:\n  - name: billing\n    listenPath: /billing\n    upstreamUrl: http://127.0.0.1:1\n    auth:\n      routes:\n        - paths: ["/public/..;/admin"]\n          type: public\n`,
    );
    assert.match(
      configError(() => loadConfig({ file: pattern, env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } })),
      /apis\.0\.auth\.routes\.0\.paths\.0/,
    );
  });

  test('gateway.publicHost is a host and optional port; without it, the redirect listener needs a listen host that names one address', async () => {
    const env = { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir };
    for (const bad of ['https://api.example.com', 'api.example.com/x', 'user@api.example.com', 'api.example.com:port', 'a b']) {
      assert.match(
        configError(() => loadConfig({ env: { ...env, GATEHOUSE_GATEWAY_PUBLIC_HOST: bad } })),
        /gateway\.publicHost/,
        bad,
      );
    }
    assert.equal(loadConfig({ env: { ...env, GATEHOUSE_GATEWAY_PUBLIC_HOST: 'api.example.com:8443' } }).gateway.publicHost, 'api.example.com:8443');
    assert.deepEqual(
      [{ host: '127.0.0.1' }, { host: '::1' }, { host: 'gw.internal' }, { host: '0.0.0.0' }, { host: '::' }, { host: '::', publicHost: 'api.example.com' }].map(
        gatewayPublicHost,
      ),
      ['127.0.0.1', '[::1]', 'gw.internal', null, null, 'api.example.com'],
    );
    const tls = {
      GATEHOUSE_GATEWAY_TLS_CERT_FILE: join(dir, 'cert.pem'),
      GATEHOUSE_GATEWAY_TLS_KEY_FILE: join(dir, 'key.pem'),
      GATEHOUSE_GATEWAY_HTTP_REDIRECT_PORT: '0',
    };
    // Refused when the configuration is read, before anything starts.
    assert.match(
      configError(() => loadConfig({ env: { ...env, ...tls, GATEHOUSE_GATEWAY_HOST: '0.0.0.0' } })),
      /gateway\.publicHost/,
    );
  });

  test('a missing pepper is a ConfigError naming GATEHOUSE_PEPPER', () => {
    const message = configError(() => loadConfig({ env: { GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /GATEHOUSE_PEPPER/);
  });

  test('a missing pepper is accepted when secrets are not required', () => {
    const config = loadConfig({ env: { GATEHOUSE_DATA_DIR: dir }, secretsRequired: false });
    assert.deepEqual(config.peppers, []);
  });

  test('a pepper shorter than 32 characters is refused', () => {
    const message = configError(() => loadConfig({ env: { GATEHOUSE_PEPPER: 'short-pepper', GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /at least 32 characters/);
    assert.ok(!message.includes('short-pepper'), 'the error does not echo the pepper');
  });

  test('a short previous pepper is refused too', () => {
    const message = configError(() => loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_PREVIOUS_PEPPERS: 'tiny', GATEHOUSE_DATA_DIR: dir } }));
    assert.match(message, /at least 32 characters/);
  });

  test('GATEHOUSE_PEPPER_FILE supplies the pepper, trimmed, with the same id as the same value in GATEHOUSE_PEPPER', () => {
    const pepperFile = join(dir, 'pepper.txt');
    writeFileSync(pepperFile, `${PEPPER_B}\n`);
    const fromFile = loadConfig({ env: { GATEHOUSE_PEPPER_FILE: pepperFile, GATEHOUSE_DATA_DIR: dir } });
    const fromEnv = loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_B, GATEHOUSE_DATA_DIR: dir } });
    assert.equal(fromFile.peppers.length, 1);
    assert.equal(fromFile.peppers[0]!.key.export().toString(), PEPPER_B);
    assert.equal(fromFile.peppers[0]!.id, fromEnv.peppers[0]!.id);
  });

  test('secrets.pepperFile in the YAML file supplies the pepper', () => {
    const pepperFile = join(dir, 'pepper.txt');
    writeFileSync(pepperFile, PEPPER_C);
    const file = writeYaml(`dataDir: ${dir}\nsecrets:\n  pepperFile: ${pepperFile}\n`);
    const config = loadConfig({ file, env: {} });
    assert.equal(config.peppers[0]!.key.export().toString(), PEPPER_C);
  });

  test('an unreadable GATEHOUSE_PEPPER_FILE is a ConfigError naming the file', () => {
    const pepperFile = join(dir, 'no-such-pepper');
    const message = configError(() => loadConfig({ env: { GATEHOUSE_PEPPER_FILE: pepperFile, GATEHOUSE_DATA_DIR: dir } }));
    assert.ok(message.includes(pepperFile), message);
    assert.match(message, /ENOENT/);
  });

  test('GATEHOUSE_PREVIOUS_PEPPERS are loaded, in order, after the current pepper', () => {
    const config = loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_PREVIOUS_PEPPERS: `${PEPPER_B},${PEPPER_C}`, GATEHOUSE_DATA_DIR: dir } });
    assert.deepEqual(
      config.peppers.map((p) => p.key.export().toString()),
      [PEPPER_A, PEPPER_B, PEPPER_C],
    );
    assert.equal(new Set(config.peppers.map((p) => p.id)).size, 3);
  });

  test('the returned config is frozen', () => {
    const config = loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_DATA_DIR: dir } });
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { dataDir: string }).dataDir = '/elsewhere';
    }, TypeError);
    assert.equal(config.dataDir, dir);
  });
});

describe('configuration at start', () => {
  const logger = pino({ level: 'silent' });
  const started: Gatehouse[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((gh) => gh.close()));
  });

  async function start(env: Record<string, string>, file?: string): Promise<Gatehouse> {
    const config = loadConfig({ file, env: { GATEHOUSE_DATA_DIR: dir, GATEHOUSE_GATEWAY_PORT: '0', GATEHOUSE_CONTROL_PORT: '0', ...env } });
    const gh = await startGatehouse(config, { logger });
    started.push(gh);
    return gh;
  }
  async function stop(gh: Gatehouse): Promise<void> {
    started.splice(started.indexOf(gh), 1);
    await gh.close();
  }
  async function admin(gh: Gatehouse, key: string, method: string, path: string, body?: unknown) {
    const res = await fetch(`${gh.controlUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
  const newAdminKey = async (gh: Gatehouse) =>
    (await adminKeysService.create(gh.ctx, { actor: 'test', requestId: null }, 'config-test', [...ADMIN_PERMISSIONS])).secret;

  test('APIs declared under apis: are created at start, and updated by name on the next start', async () => {
    const upstream = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ upstreamSaw: req.url }));
    });
    const upstreamUrl = await listen(upstream);
    try {
      const yaml = (timeout: number) =>
        `apis:\n  - name: billing\n    listenPath: /billing\n    upstreamUrl: ${upstreamUrl}\n    auth:\n      type: public\n    timeoutSeconds: ${timeout}\n`;
      const gh = await start({ GATEHOUSE_PEPPER: PEPPER_A }, writeYaml(yaml(5)));
      const apis = await gh.ctx.store.apis.all();
      assert.equal(apis.length, 1);
      assert.equal(apis[0]!.name, 'billing');
      assert.equal(apis[0]!.listenPath, '/billing');
      const res = await fetch(`${gh.gatewayUrl}/billing/invoices`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { upstreamSaw: '/invoices' });
      const id = apis[0]!.id;
      await stop(gh);

      const again = await start({ GATEHOUSE_PEPPER: PEPPER_A }, writeYaml(yaml(7)));
      const after = await again.ctx.store.apis.all();
      assert.equal(after.length, 1, 'the declared API is not created twice');
      assert.equal(after[0]!.id, id);
      const key = await newAdminKey(again);
      const shown = await admin(again, key, 'GET', `/apis/${id}`);
      assert.equal(shown.status, 200);
      assert.equal(shown.body.timeoutSeconds, 7);
    } finally {
      upstream.closeAllConnections();
      await new Promise((r) => upstream.close(r));
    }
  });

  test('a setting taken out of a declared API (its roles, its identity JWT) is cleared at the next start; a declaration in force writes nothing', async () => {
    // Bearer APIs and identity JWTs need the authorization server, so a master key.
    const env = { GATEHOUSE_PEPPER: PEPPER_A, GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY };
    const yaml = (extra: string) =>
      `apis:\n  - name: reports\n    listenPath: /reports\n    upstreamUrl: http://127.0.0.1:9\n    auth:\n      type: bearer\n${extra}`;
    const updates = async (gh: Gatehouse) => (await gh.ctx.store.audit.list({ limit: 100, action: 'api.updated' })).items.length;
    const first = await start(env, writeYaml(yaml('      roles: [admin]\n    identityJwt: true\n')));
    const [declared] = await first.ctx.store.apis.all();
    assert.deepEqual(declared!.auth.roles, ['admin']);
    assert.equal(declared!.identityJwt, true);
    await stop(first);

    const second = await start(env, writeYaml(yaml('')));
    const [changed] = await second.ctx.store.apis.all();
    assert.equal(changed!.id, declared!.id);
    assert.equal(changed!.auth.roles, undefined, 'the roles the file no longer names are gone');
    assert.equal(changed!.identityJwt, undefined);
    assert.equal(await updates(second), 1);
    await stop(second);

    const third = await start(env, writeYaml(yaml('')));
    assert.equal(await updates(third), 1, 'an API already as declared is not written again');
  });

  test('keys hashed under a previous pepper still verify after the pepper rotates, until that pepper is dropped', async () => {
    const first = await start({ GATEHOUSE_PEPPER: PEPPER_A });
    const adminA = await newAdminKey(first);
    const api = await admin(first, adminA, 'POST', '/apis', { name: 'orders', listenPath: '/orders', upstreamUrl: 'http://127.0.0.1:1' });
    assert.equal(api.status, 201);
    const app = await admin(first, adminA, 'POST', '/apps', { name: 'Acme' });
    const key = await admin(first, adminA, 'POST', '/keys', { appId: app.body.id, access: [{ apiId: api.body.id }] });
    assert.equal(key.status, 201);
    const secret: string = key.body.secret;
    assert.equal((await admin(first, adminA, 'POST', '/keys/verify', { key: secret })).body.code, 'VALID');
    await stop(first);

    const rotated = await start({ GATEHOUSE_PEPPER: PEPPER_B, GATEHOUSE_PREVIOUS_PEPPERS: PEPPER_A });
    const verified = await admin(rotated, adminA, 'POST', '/keys/verify', { key: secret });
    assert.equal(verified.status, 200, 'the admin key hashed under the previous pepper still authenticates');
    assert.equal(verified.body.valid, true);
    assert.equal(verified.body.code, 'VALID');
    assert.equal(verified.body.keyId, key.body.id);
    const adminB = await newAdminKey(rotated);
    await stop(rotated);

    const dropped = await start({ GATEHOUSE_PEPPER: PEPPER_B });
    const afterDrop = await admin(dropped, adminB, 'POST', '/keys/verify', { key: secret });
    assert.equal(afterDrop.status, 200);
    assert.equal(afterDrop.body.valid, false);
    assert.equal(afterDrop.body.code, 'NOT_FOUND');
    assert.equal((await admin(dropped, adminA, 'GET', '/keys')).status, 401, 'the admin key hashed under the dropped pepper no longer works');
  });

  test('new keys are hashed under the current pepper, not a previous one', async () => {
    const gh = await start({ GATEHOUSE_PEPPER: PEPPER_B, GATEHOUSE_PREVIOUS_PEPPERS: PEPPER_A });
    const adminKey = await newAdminKey(gh);
    const api = await admin(gh, adminKey, 'POST', '/apis', { name: 'pepper-check', listenPath: '/pepper-check', upstreamUrl: 'http://127.0.0.1:1' });
    const app = await admin(gh, adminKey, 'POST', '/apps', { name: 'Acme' });
    const created = await admin(gh, adminKey, 'POST', '/keys', { appId: app.body.id, access: [{ apiId: api.body.id }] });
    assert.equal(created.status, 201);
    const stored = await gh.ctx.store.keys.get(created.body.id);
    const config = loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER_B, GATEHOUSE_PREVIOUS_PEPPERS: PEPPER_A, GATEHOUSE_DATA_DIR: dir } });
    assert.equal(stored!.pepperId, config.peppers[0]!.id);
    assert.notEqual(stored!.pepperId, config.peppers[1]!.id);
    const [adminStored] = await gh.ctx.store.adminKeys.list();
    assert.equal(adminStored!.pepperId, config.peppers[0]!.id);
  });
});
