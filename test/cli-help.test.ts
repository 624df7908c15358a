import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { IDENTITY_GROUPS } from '../src/cli/commands/identity.ts';
import { INCIDENT_VERBS } from '../src/cli/commands/incident.ts';
import { RESOURCE_GROUPS } from '../src/cli/commands/resources.ts';
import { WEBHOOK_GROUPS } from '../src/cli/commands/webhooks.ts';
import { runCli } from './support/cli.ts';

/**
 * `gatehouse --help` names `--help` as the way to a command's filters: every command answers it with
 * its usage on stdout and exit 0, and does nothing else (no admin API call, no store, no listener).
 */
describe('gatehouse <command> --help', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-help-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = {
    // Nothing answers here: a command that tried the admin API would fail, not print its usage.
    GATEHOUSE_URL: 'http://127.0.0.1:1',
    GATEHOUSE_ADMIN_KEY: `gka_live_${'A'.repeat(30)}`,
    GATEHOUSE_DATA_DIR: join(dataDir, 'store'),
    GATEHOUSE_GATEWAY_PORT: '0',
    GATEHOUSE_CONTROL_PORT: '0',
    GATEHOUSE_DEMO_UPSTREAM_PORT: '0',
  };

  for (const [args, usage] of [
    [['requests', '--help'], /^usage: gatehouse requests \[--since/],
    [['usage', '--help'], /^usage: gatehouse usage \[--since/],
    [['usage', 'billing', '--help'], /gatehouse usage billing \[--period/],
    [['audit', '--help'], /^usage: gatehouse audit \[--target/],
    [['keys', '--help'], /^usage: gatehouse keys <list\|show\|create/],
    [['keys', 'create', '--help'], /^usage: gatehouse keys create --app NAME\|ID/],
    [['keys', 'rotate', '-h'], /^usage: gatehouse keys rotate ID \[--grace/],
    [['users', 'create', '--help'], /^usage: gatehouse users create/],
    [['admin-keys', 'create', '--help'], /^usage: gatehouse admin-keys create --name N/],
    [['scan', '-h'], /^usage: gatehouse scan \[PATH\.\.\.\]/],
  ] as const) {
    test(`${args.join(' ')} prints the usage on stdout and exits 0`, async () => {
      const run = await runCli([...args], env);
      assert.equal(run.code, 0, `stderr: ${run.stderr}`);
      assert.match(run.stdout, usage);
      assert.equal(run.stderr, '');
    });
  }

  // The README's first commands use these flags: `create --help` and `update --help` must name them,
  // not answer `[flags]` and leave a newcomer to guess.
  for (const [args, flags] of [
    [
      ['apis', 'create', '--help'],
      ['--name', '--listen-path', '--upstream', '--data JSON'],
    ],
    [
      ['apps', 'create', '--help'],
      ['--name', '--owner'],
    ],
    [
      ['policies', 'create', '--help'],
      ['--name', '--api', '--rate-limit', '--quota'],
    ],
    [
      ['clients', 'create', '--help'],
      ['--name', '--redirect-uri', '--grant', '--api', '--scopes', '--exchange-app', '--type'],
    ],
    [
      ['clients', 'update', '--help'],
      ['--redirect-uri', '--grant'],
    ],
  ] as const) {
    test(`${args.join(' ')} names every flag it takes`, async () => {
      const run = await runCli([...args], env);
      assert.equal(run.code, 0, `stderr: ${run.stderr}`);
      assert.doesNotMatch(run.stdout, /\[flags\]/);
      for (const flag of flags) assert.ok(run.stdout.includes(flag), `${args.join(' ')} --help does not name ${flag}:\n${run.stdout}`);
    });
  }

  for (const command of ['migrate', 'demo', 'start']) {
    test(`${command} --help prints the usage, exits 0, and creates no store`, async () => {
      const run = await runCli([command, '--help'], env);
      assert.equal(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`^usage: gatehouse ${command}\\b`));
      assert.equal(existsSync(env.GATEHOUSE_DATA_DIR), false, `${command} --help made ${env.GATEHOUSE_DATA_DIR}`);
    });
  }

  // `-h` is `--help` after any command (output.ts asksForHelp): so it is before one.
  for (const flag of ['--help', '-h']) {
    test(`gatehouse ${flag} prints the usage on stdout and exits 0`, async () => {
      const run = await runCli([flag], env);
      assert.equal(run.code, 0, `stderr: ${run.stderr}`);
      assert.match(run.stdout, /^usage: gatehouse <command>/);
      assert.equal(run.stderr, '');
    });
  }

  // The overview is where a newcomer finds a verb (docs/console.md sends them to `users
  // set-console-role`): each group's line names every verb the group has.
  test('gatehouse --help names every verb of every command group', async () => {
    const run = await runCli(['--help'], env);
    const groups: Record<string, string[]> = {};
    for (const source of [RESOURCE_GROUPS, IDENTITY_GROUPS, WEBHOOK_GROUPS, INCIDENT_VERBS]) {
      for (const [group, verbs] of Object.entries(source)) groups[group] = [...(groups[group] ?? []), ...Object.keys(verbs)];
    }
    for (const [group, verbs] of Object.entries(groups)) {
      const line = run.stdout.split('\n').find((l) => new RegExp(`^  (\\S+\\|)?${group}(\\|\\S+)?\\s`).test(l));
      assert.ok(line, `gatehouse --help has a line for ${group}`);
      for (const verb of verbs) assert.match(line, new RegExp(`[ |]${verb}([ |]|$)`), `gatehouse --help names ${group} ${verb}: ${line}`);
    }
  });

  test('an unknown flag is still a usage error (exit 2), and a `--help` after `--` is not a request for help', async () => {
    const unknown = await runCli(['keys', 'list', '--bogus'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /bogus/);
    const afterDashes = await runCli(['keys', 'show', '--', '--help'], env);
    assert.notEqual(afterDashes.code, 0);
    assert.doesNotMatch(afterDashes.stdout, /^usage:/);
  });
});
