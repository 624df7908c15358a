import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from './support/cli.ts';

/**
 * `keys list --status` takes what its usage says (active, disabled, expired, revoked, and exposed,
 * which the CLI turns into the `exposed` filter). A value outside that is a wrong command line: exit
 * 2 with the values the CLI takes, not the admin API's list without `exposed` and exit 1.
 */
describe('gatehouse keys list --status', () => {
  // Nothing answers here: the command line is judged before any admin API call.
  const env = { GATEHOUSE_URL: 'http://127.0.0.1:1', GATEHOUSE_ADMIN_KEY: `gka_live_${'A'.repeat(30)}` };

  for (const [flag, value, named] of [
    ['--status', 'bogus', ['active', 'disabled', 'expired', 'revoked', 'exposed']],
    ['--env', 'prod', ['live', 'test']],
  ] as const) {
    test(`${flag} ${value} is a usage error (exit 2) naming every value the CLI takes`, async () => {
      const run = await runCli(['keys', 'list', flag, value], env);
      assert.equal(run.code, 2, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`${flag} ${value}`));
      for (const name of named) assert.match(run.stderr, new RegExp(`\\b${name}\\b`), `stderr names ${name}: ${run.stderr}`);
    });
  }
});
