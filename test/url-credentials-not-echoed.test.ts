import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { LOG_OPTIONS } from '../src/telemetry/log-redaction.ts';
import { runCli } from './support/cli.ts';

const PEPPER = 'pepper-A-0123456789abcdefghijklmnopqrstuvwxyz';
const PASSWORD = 'Hunter2-discovery-password';
const CLIENT_SECRET = 'Qz9-discovery-client-secret';

/**
 * The secret-shape rule (domain/secret-redaction.ts) knew only Gatehouse's keys and JWTs; a URL's
 * password or a `?client_secret=` went out as quoted. undici quotes the whole URL when it refuses one
 * with credentials, so an issuer's discovery URL written with them put both on the CLI's stderr when
 * `gatehouse start` failed. The schema now refuses userinfo there before anything fetches it
 * (test/config-public-url-credentials.test.ts), by the setting's name; undici's message is still
 * logged without them (below), for a URL with credentials that reaches it some other way.
 */
test('gatehouse start with a discovery URL holding a password and a client_secret refuses it by name, echoing neither', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-url-credentials-'));
  try {
    const file = join(dir, 'gatehouse.yaml');
    const url = `https://gatehouse:${PASSWORD}@127.0.0.1:1/.well-known/openid-configuration?client_secret=${CLIENT_SECRET}`;
    writeFileSync(
      file,
      `dataDir: ${JSON.stringify(dir)}\ngateway: { port: 0 }\ncontrol: { port: 0 }\ntokens:\n  issuers:\n    - issuer: https://idp.example\n      discoveryUrl: ${JSON.stringify(url)}\n`,
    );
    const run = await runCli(['start', '--config', file], { GATEHOUSE_PEPPER: PEPPER });
    assert.equal(run.code, 1);
    assert.ok(!run.stderr.includes(PASSWORD), `the password is echoed: ${run.stderr}`);
    assert.ok(!run.stderr.includes(CLIENT_SECRET), `the client secret is echoed: ${run.stderr}`);
    assert.match(run.stderr, /tokens\.issuers\.0\.discoveryUrl: must not hold a user name or password/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a library's error quoting a PostgreSQL or Redis URL is logged without the password", () => {
  const lines: string[] = [];
  // The logger gatehouse.ts makes, writing here instead of stdout.
  const log = pino({ level: 'info', ...LOG_OPTIONS }, { write: (line: string) => void lines.push(line) });
  log.error({ err: Object.assign(new TypeError('Invalid URL'), { input: `postgres://gatehouse:${PASSWORD}@db:99999/gatehouse` }) }, 'store failed');
  log.warn({ endpoint: `rediss://default:${PASSWORD}@cache:6380` }, `reconnecting to redis://:${PASSWORD}@cache:6379`);
  const refused = `https://gatehouse:${PASSWORD}@127.0.0.1:1/.well-known/openid-configuration?client_secret=${CLIENT_SECRET}`;
  log.error({ err: new TypeError(`Request cannot be constructed from a URL that includes credentials: ${refused}`) }, 'discovery failed');
  assert.equal(lines.length, 3);
  for (const line of lines) assert.ok(!line.includes(PASSWORD) && !line.includes(CLIENT_SECRET), `a secret is logged: ${line}`);
  const [first, second, third] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal((first!.err as { input: string }).input, 'postgres://gatehouse:[Redacted]@db:99999/gatehouse');
  assert.equal(second!.msg, 'reconnecting to redis://:[Redacted]@cache:6379');
  assert.equal(second!.endpoint, 'rediss://default:[Redacted]@cache:6380');
  // What helps a diagnosis stays: the user, the host, the parameter's name.
  assert.match(
    (third!.err as { message: string }).message,
    /https:\/\/gatehouse:\[Redacted\]@127\.0\.0\.1:1\/\.well-known\/openid-configuration\?client_secret=\[Redacted\]/,
  );
});
