import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generateKey } from '../domain/key-format.ts';
import { ScanError } from './finding.ts';
import { scanPaths, scanStagedChanges } from './scan.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function repo() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-scan-'));
  dirs.push(dir);
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args], { cwd: dir })
      .toString()
      .trim();
  git('init', '-q');
  const write = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  const commit = (message: string) => {
    git('add', '-A');
    git('commit', '-qm', message);
    return git('rev-parse', 'HEAD');
  };
  return { dir, git, write, commit };
}

const options = { history: true, includeNodeModules: false, maxFileBytes: 1024 * 1024 };

describe('scanning a repository', () => {
  test('each secret is reported at the commit and path that added it, on any branch, and not again where it only moved', async () => {
    const r = repo();
    const live = generateKey('api', 'live').secret;
    const admin = generateKey('admin', 'live').secret;
    r.write('config.yml', `name: app\nkey: ${live}\n`);
    const added = r.commit('add config');
    r.write('config.yml', `name: app\nregion: eu\nkey: ${live}\n`);
    r.commit('the key moves down a line');
    r.write('config.yml', 'name: app\n');
    r.commit('remove the key');
    r.git('checkout', '-qb', 'feature');
    r.write('ops/admin.env', `X=1\nGATEHOUSE_ADMIN_KEY=${admin}\n`);
    const onBranch = r.commit('admin key on a branch');
    r.git('checkout', '-q', 'main');
    r.write('other.txt', 'x\n');
    r.commit('unrelated');
    r.git('merge', '-q', '--no-edit', 'feature');

    const { findings, stats } = await scanPaths([r.dir], options);
    const history = findings.filter((f) => f.source === 'history');
    assert.deepEqual(
      history.map((f) => [f.match.kind, f.path, f.match.line, f.commit]),
      [
        ['api', 'config.yml', 2, added],
        ['admin', 'ops/admin.env', 2, onBranch],
      ],
    );
    const files = findings.filter((f) => f.source === 'file');
    assert.deepEqual(
      files.map((f) => [f.match.kind, f.match.line]),
      [['admin', 2]],
      'the merged working tree still holds the admin key',
    );
    assert.equal(stats.commits, 6);

    const bare = `${r.dir}.git`;
    dirs.push(bare);
    execFileSync('git', ['clone', '-q', '--bare', r.dir, bare]);
    const mirrored = await scanPaths([bare], options);
    assert.deepEqual(
      mirrored.findings.map((f) => [f.source, f.path, f.commit]),
      history.map((f) => ['history', f.path, f.commit]),
      'a bare clone is scanned as history only, with the same findings',
    );
  });

  test('node_modules, .git and binary files are skipped unless asked; a look-alike is never reported', async () => {
    const r = repo();
    const key = generateKey('api', 'test').secret;
    const broken = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');
    r.write('node_modules/lib/index.js', `const k = '${key}';\n`);
    r.write('image.bin', `\0\0${key}`);
    r.write('fixtures.txt', `fake: ${broken}\n`);
    const plain = await scanPaths([r.dir], { ...options, history: false });
    assert.deepEqual(plain.findings, []);
    assert.equal(plain.stats.skippedBinary, 1);
    const all = await scanPaths([r.dir], { ...options, history: false, includeNodeModules: true });
    assert.deepEqual(
      all.findings.map((f) => f.path.endsWith(join('node_modules', 'lib', 'index.js'))),
      [true],
    );
  });

  test('--staged reports only secrets the staged changes add', async () => {
    const r = repo();
    const old = generateKey('api', 'live').secret;
    const fresh = generateKey('publishable', 'live').secret;
    r.write('a.txt', `${old}\n`);
    r.commit('one');
    r.write('a.txt', `${old}\n${fresh}\n`);
    r.write('b.txt', 'nothing\n');
    r.git('add', '-A');
    r.write('c.txt', `${generateKey('api', 'live').secret}\n`); // not staged
    const { findings } = await scanStagedChanges(r.dir);
    assert.deepEqual(
      findings.map((f) => [f.source, f.path, f.match.kind, f.match.line]),
      [['staged', 'a.txt', 'publishable', 2]],
    );
  });

  test('a path that does not exist is a ScanError', async () => {
    await assert.rejects(scanPaths([join(tmpdir(), 'no-such-path-for-gatehouse-scan')], options), ScanError);
  });
});
