import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { runCli } from './support/cli.ts';

const PEPPER = 'pepper-A-0123456789abcdefghijklmnopqrstuvwxyz';
const PASSWORD = 'hunter2-malformed-url-password';

/**
 * store.url and redis.url are refused when they hold a password, by a refinement that parsed them
 * with `new URL`: one no URL parser reads (a port out of range, a space, a lone `[`) made that throw
 * out of the schema, a TypeError instead of the ConfigError naming the setting, its `input` (printed
 * by anything that inspects or serializes the error: Node's own uncaught-error report, pino's err)
 * the whole URL, password and all.
 */
const MALFORMED: readonly [string, Record<string, string>][] = [
  ['store.url', { GATEHOUSE_STORE_DRIVER: 'postgres', GATEHOUSE_STORE_URL: `postgres://gh:${PASSWORD}@db:99999/gh` }],
  ['store.url', { GATEHOUSE_STORE_DRIVER: 'postgres', GATEHOUSE_STORE_URL: `postgres://gh:${PASSWORD}@[db/gh` }],
  ['redis.url', { GATEHOUSE_REDIS_URL: `redis://:${PASSWORD}@cache:99999` }],
  ['redis.url', { GATEHOUSE_REDIS_URL: `rediss://default:${PASSWORD} @cache:6380` }],
];

test('a malformed store or Redis URL holding a password is refused by name, without the password', () => {
  for (const [setting, env] of MALFORMED) {
    assert.throws(
      () => loadConfig({ env: { GATEHOUSE_PEPPER: PEPPER, ...env } }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${setting}: not a ConfigError: ${String(error)}`);
        assert.ok(error.message.includes(setting), error.message);
        assert.ok(!inspect(error).includes(PASSWORD), `${setting}: the password is in the error: ${inspect(error)}`);
        return true;
      },
    );
  }
});

test('gatehouse start with such a URL says which setting is wrong, and not the password', async () => {
  const run = await runCli(['start'], { GATEHOUSE_PEPPER: PEPPER, ...MALFORMED[0]![1] });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^gatehouse: invalid configuration:\n {2}store\.url \(from GATEHOUSE_STORE_URL\): /);
  assert.ok(!run.stderr.includes(PASSWORD), run.stderr);
});
