import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';

const ADMIN_KEY = `gka_live_${'A'.repeat(30)}`;
const KEY = 'gk_live_Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7cF0';
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl';
const NEW_KEY = 'gk_live_Zy9xW8vU7tS6rQ5pO4nM3lK2jI1hG0';

/**
 * The CLI's errors go to stderr, which lands in terminals, CI logs and shell history tools. An error
 * quoting what it was given (the admin API's detail, a name typed on the command line, a library's
 * message about a body it could not parse, GATEHOUSE_URL) went out as it was, a key or a JWT with it.
 * Every error the CLI prints now passes through the secret-shape rule (domain/secret-redaction.ts);
 * a newly issued key, which the CLI shows once on purpose, is a result on stdout and stays.
 */
describe('CLI errors never echo a secret', () => {
  let server: Server;
  let url = '';
  const env = (extra: Record<string, string> = {}) => ({ GATEHOUSE_URL: url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, ...extra });
  before(async () => {
    // A stand-in for the admin API.
    server = createServer((req, res) => {
      const path = req.url ?? '';
      res.setHeader('content-type', 'application/json');
      if (path.startsWith('/admin/v1/keys/key_1/rotate')) {
        res.statusCode = 201;
        return res.end(JSON.stringify({ id: 'key_2', secret: NEW_KEY, previous: { id: 'key_1', expiresAt: '2027-01-01T00:00:00Z' } }));
      }
      if (path.startsWith('/admin/v1/keys/')) {
        res.statusCode = 404;
        return res.end(JSON.stringify({ code: 'NOT_FOUND', detail: `no key ${KEY} (upstream said: Bearer ${JWT})` }));
      }
      if (path.startsWith('/admin/v1/apps')) return res.end(JSON.stringify({ items: [], nextCursor: null }));
      // An export refused with a body that is not the JSON it claims: the parser's message quotes it.
      res.statusCode = 500;
      res.end(`${KEY} is not valid here`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  const noSecret = (stderr: string) => {
    assert.ok(!stderr.includes('Ab3dE6gH9jK2'), `the key is echoed: ${stderr}`);
    assert.ok(!stderr.includes('eyJhbGciOiJFUzI1NiJ9'), `the JWT is echoed: ${stderr}`);
    assert.ok(!stderr.includes(ADMIN_KEY), `the admin key is echoed: ${stderr}`);
  };

  test('a CLI error whose message holds a key or a JWT is printed with them redacted, in text and in --json', async () => {
    const text = await runCli(['keys', 'show', 'key_9'], env());
    assert.equal(text.code, 1);
    assert.match(text.stderr, /NOT_FOUND: no key \[Redacted\] \(upstream said: Bearer \[Redacted\]\)/);
    noSecret(text.stderr);
    const json = await runCli(['keys', 'show', 'key_9', '--json'], env());
    assert.equal(json.code, 1);
    const printed = JSON.parse(json.stderr) as { error: string; details: { detail: string } };
    assert.match(printed.error, /\[Redacted\]/);
    assert.match(printed.details.detail, /\[Redacted\]/);
    noSecret(json.stderr);
  });

  test('a key typed where a name goes is not echoed in the refusal', async () => {
    const run = await runCli(['keys', 'create', '--app', KEY, '--api', 'orders'], env());
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no app named "\[Redacted\]"/);
    noSecret(run.stderr);
  });

  test('a library failure the CLI does not expect (an unparsable error body) is printed redacted, exit 1', async () => {
    const run = await runCli(['requests', '--format', 'csv'], env());
    assert.equal(run.code, 1);
    // Printed by the CLI, not by Node (which showed the whole body the parser choked on).
    assert.match(run.stderr, /^gatehouse: SyntaxError: /);
    noSecret(run.stderr);
  });

  test('GATEHOUSE_URL holding a key is not echoed when the admin API cannot be reached', async () => {
    const run = await runCli(['keys', 'list'], env({ GATEHOUSE_URL: `http://127.0.0.1:1/${KEY}` }));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:1\/\[Redacted\]/);
    noSecret(run.stderr);
  });

  test('a rotation still shows the new key once, on stdout: its purpose', async () => {
    const run = await runCli(['keys', 'rotate', 'key_1'], env());
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(NEW_KEY), run.stdout);
  });
});
