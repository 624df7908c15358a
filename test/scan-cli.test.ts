import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKey } from '../src/domain/key-format.ts';
import { runCli, type Run } from './support/cli.ts';
import { seed, startHarness, type Harness } from './support/harness.ts';

/**
 * `gatehouse scan` as a user runs it: the real CLI in a child process over a real git repository,
 * looking secrets up through a real Gatehouse's admin API.
 */
describe('gatehouse scan', () => {
  let h: Harness;
  let dir: string;
  let inHistory: { keyId: string; secret: string };
  let inFile: { keyId: string; secret: string };
  let addedIn: string;
  let secondCommit: string;
  const admin = () => ({ GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });
  const scan = (args: string[], env: Record<string, string> = admin()) => runCli(['scan', ...args], env);
  const parse = (run: Run) => {
    try {
      return JSON.parse(run.stdout);
    } catch {
      assert.fail(`exit ${run.code}, stdout not JSON: ${run.stdout} ${run.stderr}`);
    }
  };
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: dir })
      .toString()
      .trim();

  before(async () => {
    h = await startHarness();
    const seeded = await seed(h);
    inHistory = seeded;
    const second = await h.admin('POST', '/keys', { appId: seeded.appId, access: [{ apiId: seeded.apiId }] });
    inFile = { keyId: second.body.id, secret: second.body.secret };
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-scan-cli-'));
    git('init', '-q');
    writeFileSync(join(dir, 'settings.py'), `DEBUG = True\nREGION = "eu"\nAPI_KEY = "${inHistory.secret}"\n`);
    git('add', '-A');
    // Committed long before the test clock's now: the exposure is known to date from then.
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'settings'], {
      cwd: dir,
      env: { ...process.env, GIT_COMMITTER_DATE: '2026-01-15T10:00:00Z' },
    });
    addedIn = git('rev-parse', 'HEAD');
    writeFileSync(join(dir, 'settings.py'), 'DEBUG = True\nAPI_KEY = os.environ["API_KEY"]\n');
    const unknown = generateKey('api', 'live').secret;
    writeFileSync(join(dir, 'client.ts'), `// key\nfetch(url, { headers: { 'x-api-key': '${inFile.secret}' } });\nconst other = '${unknown}';\n`);
    git('add', '-A');
    git('commit', '-qm', 'read the key from the environment');
    secondCommit = git('rev-parse', 'HEAD');
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('finds keys in files and history, looks each up, and never prints a whole secret', async () => {
    const run = await scan([dir, '--format', 'json']);
    assert.equal(run.code, 1, `a live key was found: ${run.stderr}`);
    const report = parse(run);
    const rows = report.findings.map((f: any) => [f.source, f.path.split('/').at(-1), f.line, f.commit, f.status.lookup, f.status.keyId ?? null, f.live]);
    assert.deepEqual(rows, [
      ['file', 'client.ts', 2, null, 'found', inFile.keyId, true],
      ['file', 'client.ts', 3, null, 'unknown', null, false],
      ['history', 'settings.py', 3, addedIn, 'found', inHistory.keyId, true],
      ['history', 'client.ts', 2, secondCommit, 'found', inFile.keyId, true],
      ['history', 'client.ts', 3, secondCommit, 'unknown', null, false],
    ]);
    assert.equal(report.findings[2].status.status, 'active');
    assert.equal(report.findings[2].start, inHistory.secret.slice(0, 12));
    for (const format of ['json', 'text', 'sarif']) {
      const out = format === 'json' ? run : await scan([dir, '--format', format]);
      for (const secret of [inHistory.secret, inFile.secret]) assert.ok(!out.stdout.includes(secret), `${format} output holds no whole secret`);
    }
  });

  test('--format sarif writes SARIF 2.1.0 with a rule per kind and each finding located', async () => {
    const file = join(dir, '..', `scan-${process.pid}.sarif`);
    const run = await scan([dir, '--format', 'sarif', '--output', file, '--no-history']);
    assert.equal(run.code, 1);
    const sarif = JSON.parse(readFileSync(file, 'utf8'));
    rmSync(file);
    assert.equal(sarif.version, '2.1.0');
    const [r] = sarif.runs;
    assert.deepEqual(
      r.tool.driver.rules.map((rule: any) => rule.id),
      ['gatehouse/api-key', 'gatehouse/publishable-key', 'gatehouse/admin-key', 'gatehouse/oauth-client-secret'],
    );
    assert.deepEqual(
      r.results.map((x: any) => [x.ruleId, x.level, x.locations[0].physicalLocation.region.startLine, x.locations[0].physicalLocation.region.startColumn]),
      [
        ['gatehouse/api-key', 'error', 2, 39],
        ['gatehouse/api-key', 'note', 3, 16],
      ],
    );
    assert.match(r.results[0].partialFingerprints['gatehouseSecret/v1'], /^sha256:[0-9a-f]{16}$/);
  });

  test('without an admin key nothing is looked up and any secret found exits 1; a clean tree exits 0; bad usage exits 2', async () => {
    const offline = await scan([dir], {});
    assert.equal(offline.code, 1);
    assert.match(offline.stdout, /not looked up: no admin key/);
    const clean = mkdtempSync(join(tmpdir(), 'gatehouse-scan-clean-'));
    writeFileSync(join(clean, 'readme.md'), 'nothing here\n');
    const none = await scan([clean], {});
    rmSync(clean, { recursive: true });
    assert.equal(none.code, 0);
    assert.match(none.stdout, /no Gatehouse secrets found in 1 files/);
    assert.equal((await scan([dir, '--format', 'xml'], {})).code, 2);
    assert.equal((await scan([join(dir, 'no-such-file')], {})).code, 2);
    assert.equal((await scan([dir, '--revoke'], {})).code, 2, '--revoke needs an admin key');
  });

  test('--staged scans only what is staged, for a pre-commit hook', async () => {
    const fresh = generateKey('api', 'test').secret;
    writeFileSync(join(dir, 'staged.env'), `KEY=${fresh}\n`);
    git('add', 'staged.env');
    const run = await scan(['--staged', dir, '--json']);
    git('rm', '-q', '--cached', 'staged.env');
    rmSync(join(dir, 'staged.env'));
    assert.equal(run.code, 0, 'the staged key is unknown to this Gatehouse: not live');
    assert.deepEqual(
      parse(run).findings.map((f: any) => [f.source, f.path, f.line, f.status.lookup]),
      [['staged', 'staged.env', 1, 'unknown']],
    );
  });

  test('--mark-exposed records each live key exposed where it was found; --revoke revokes it; then nothing live is left', async () => {
    const run = await scan([dir, '--mark-exposed', '--revoke', '--json']);
    assert.equal(run.code, 1, 'the keys were live when found');
    const actions = parse(run).actions.map((a: any) => [a.action, a.keyId, a.error]);
    assert.deepEqual(actions, [
      ['marked-exposed', inFile.keyId, null],
      ['revoked', inFile.keyId, null],
      ['marked-exposed', inHistory.keyId, null],
      ['revoked', inHistory.keyId, null],
    ]);
    const events = (await h.gh.ctx.store.events.after(0, 1000)).filter((e) => e.type === 'key.exposed');
    const exposure = events.find((e) => (e.data.key as { id: string }).id === inHistory.keyId)!.data.exposure as Record<string, string>;
    assert.equal(exposure.source, 'scanner');
    assert.equal(exposure.where, `settings.py:3@${addedIn}`);
    assert.equal(exposure.since, '2026-01-15T10:00:00.000Z', 'out since the commit that added it');
    assert.equal(exposure.action, 'disable', "the exposure policy's default for a live key, then --revoke");
    const revoked = (await h.admin('GET', `/keys/${inHistory.keyId}`)).body;
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.revokedReason, `exposed in settings.py:3@${addedIn}`);
    const again = await scan([dir]);
    assert.equal(again.code, 0, 'revoked keys are not live');
    assert.match(again.stdout, /REVOKED/);
  });
});
