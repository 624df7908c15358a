import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MAIN, NODE, ROOT } from './support/cli.ts';
import { waitFor } from './support/wait.ts';

const BIN = join(ROOT, 'bin', 'gatehouse.js');
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** PATH as a user's shell has it: without the node_modules/.bin that npm scripts put first. */
const USER_PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((p) => !p.includes(`node_modules${'/'}.bin`))
  .join(delimiter);

/** A Node older than 22.18 on this machine (the system Node), or null. */
function oldSystemNode(): string | null {
  const found = execFileSync('sh', ['-c', 'which -a node || true'], { encoding: 'utf8', env: { PATH: USER_PATH } })
    .split('\n')
    .filter(Boolean);
  for (const node of found) {
    const [major, minor] = execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number);
    if (major! < 22 || (major === 22 && minor! < 18)) return node;
  }
  return null;
}
const OLD_NODE = oldSystemNode();

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(program: string, args: string[], options: { cwd?: string; env?: Record<string, string>; onSpawn?: (pid: number) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd ?? tmpdir(),
      env: { PATH: USER_PATH, HOME: process.env.HOME ?? tmpdir(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('spawn', () => options.onSpawn?.(child.pid!));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Whether the process's first child runs the CLI: main.ts on its command line (/proc, Linux). */
function runsCli(pid: number): boolean {
  const child = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0];
  return (
    child !== undefined &&
    child !== '' &&
    readFileSync(`/proc/${child}/cmdline`, 'utf8')
      .split('\0')
      .some((a) => a.endsWith('main.ts'))
  );
}

describe('the gatehouse bin (bin/gatehouse.js)', () => {
  test(
    'runs help with the system Node (older than 22.18) from another directory, through the pinned Node',
    { skip: OLD_NODE === null && 'no Node older than 22.18 here' },
    async () => {
      const result = await run(OLD_NODE!, [BIN, 'help']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^usage: gatehouse <command>/);
      assert.equal(result.stderr, '');
    },
  );

  test('runs help in-process with a Node that strips types, from another directory', async () => {
    const result = await run(NODE, [BIN, 'help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^usage: gatehouse <command>/);
  });

  test('runs as an executable from PATH: its #! line finds whatever node is first', async () => {
    const result = await run(BIN, ['help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^usage: gatehouse <command>/);
  });

  /** Whether this machine lets a test hide a file from a command it runs (a user and mount namespace). */
  const CAN_HIDE_FILES = spawnSync('unshare', ['-rm', 'true']).status === 0;

  test(
    'runs as an executable with nothing on stderr where /bin/true cannot run (macOS and NixOS have none)',
    { skip: !CAN_HIDE_FILES && 'unshare -rm is not allowed here' },
    async () => {
      // /dev/null mounted over /bin/true, for the launcher alone: the #! line's sh may rely only on /bin/sh.
      const hidden = 'mount --bind /dev/null /bin/true && exec "$0" "$@"';
      const result = await run('unshare', ['-rm', 'sh', '-c', hidden, BIN, 'help'], { env: { PATH: `${dirname(NODE)}${delimiter}${USER_PATH}` } });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^usage: gatehouse <command>/);
      assert.equal(result.stderr, '');
    },
  );

  /** The command line and environment of the node running the CLI: the launched process itself (`self`), or the child it spawned. */
  const flagsOf = async (command: string, args: string[], path: string, cli: 'self' | 'child', env: Record<string, string> = {}): Promise<string[]> => {
    // keys verify waits for the key on stdin, which this test never closes: long enough to read its command line.
    let pid = 0;
    const running = run(command, args, { env: { PATH: path, GATEHOUSE_ADMIN_KEY: `gka_live_${'A'.repeat(30)}`, ...env }, onSpawn: (p) => (pid = p) });
    const argvOf = (of: number) => readFileSync(`/proc/${of}/cmdline`, 'utf8').split('\0');
    let argv: string[] = [];
    let cliPid = 0;
    await waitFor(
      () => {
        if (pid === 0) return false;
        if (cli === 'child') {
          const child = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0];
          cliPid = Number(child);
          argv = child ? argvOf(cliPid) : [];
        } else ((cliPid = pid), (argv = argvOf(pid)));
        // Until the #! line's shell has exec'd node, the process is the shell; until the child has exec'd, it
        // is a copy of the launcher (main.ts is on the command line only once it runs the CLI).
        return cli === 'child' ? argv.some((a) => a.endsWith('main.ts')) : argv.some((a) => a.endsWith('gatehouse.js')) && argv[0]!.endsWith('node');
      },
      { timeoutMs: 30_000, what: 'the CLI running' },
    );
    const environment = readFileSync(`/proc/${cliPid}/environ`, 'utf8').split('\0');
    process.kill(pid, 'SIGTERM');
    await running;
    return [...argv, ...environment];
  };
  /** The #! line with a Node that strips types first on PATH: the CLI runs in the launcher's own process. */
  const newNodeFirst = `${dirname(NODE)}${delimiter}${USER_PATH}`;

  test('runs the CLI with the young generation capped and two malloc arenas, as an executable and through the pinned Node', async () => {
    const self = await flagsOf(BIN, ['keys', 'verify'], newNodeFirst, 'self');
    assert.ok(self.includes('--max-semi-space-size=8'), 'the young generation capped through the #! line');
    assert.ok(self.includes('MALLOC_ARENA_MAX=2'), 'two malloc arenas through the #! line');
    if (OLD_NODE !== null) {
      const child = await flagsOf(OLD_NODE, [BIN, 'keys', 'verify'], USER_PATH, 'child');
      assert.ok(child.includes('--max-semi-space-size=8'), 'the young generation capped through the pinned Node');
      assert.ok(child.includes('MALLOC_ARENA_MAX=2'), 'two malloc arenas through the pinned Node');
    }
  });

  test("an operator's MALLOC_ARENA_MAX wins over the launcher's 2, as an executable and through the pinned Node", async () => {
    const operator = { MALLOC_ARENA_MAX: '4' };
    const self = await flagsOf(BIN, ['keys', 'verify'], newNodeFirst, 'self', operator);
    assert.ok(self.includes('MALLOC_ARENA_MAX=4'), `the operator's value through the #! line, not ${self.find((v) => v.startsWith('MALLOC_ARENA_MAX='))}`);
    assert.ok(self.includes('--max-semi-space-size=8'), 'still the young generation capped');
    if (OLD_NODE !== null) {
      const child = await flagsOf(OLD_NODE, [BIN, 'keys', 'verify'], USER_PATH, 'child', operator);
      assert.ok(child.includes('MALLOC_ARENA_MAX=4'), "the operator's value through the pinned Node");
    }
  });

  test(
    'passes the exit code through: 2 for a wrong command line, 1 for an admin API it cannot reach',
    { skip: OLD_NODE === null && 'no Node older than 22.18 here' },
    async () => {
      const usage = await run(OLD_NODE!, [BIN, 'frobnicate']);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /unknown command frobnicate/);
      const unreachable = await run(OLD_NODE!, [BIN, 'keys', 'list'], {
        env: { GATEHOUSE_URL: 'http://127.0.0.1:1', GATEHOUSE_ADMIN_KEY: `gka_live_${'A'.repeat(30)}` },
      });
      assert.equal(unreachable.code, 1);
      assert.match(unreachable.stderr, /cannot reach the admin API/);
    },
  );

  test('forwards a signal to the CLI it runs, and ends with the same signal', { skip: OLD_NODE === null && 'no Node older than 22.18 here' }, async () => {
    // keys verify waits for the key on stdin, which this test never closes.
    let pid = 0;
    const running = run(OLD_NODE!, [BIN, 'keys', 'verify'], { env: { GATEHOUSE_ADMIN_KEY: `gka_live_${'A'.repeat(30)}` }, onSpawn: (p) => (pid = p) });
    // Wait until the CLI it spawned runs (main.ts on its command line, in /proc on Linux): the launcher
    // listens for signals before it spawns, so from then on a signal is forwarded. (It listened after the
    // spawn once: a signal sent between the two ended the launcher alone, and this test failed in CI.)
    await waitFor(() => pid !== 0 && runsCli(pid), { timeoutMs: 30_000, what: 'the launcher running the CLI' });
    process.kill(pid, 'SIGTERM');
    const result = await running;
    assert.equal(result.signal, 'SIGTERM', `code ${result.code}, stderr: ${result.stderr}`);
    // Unforwarded, the launcher would die alone and the CLI end on its closed stdin, saying so.
    assert.equal(result.stderr, '', 'the CLI was ended by the forwarded signal');
  });

  test(
    'with an old Node and no pinned Node, says which Node it needs and exits 1',
    { skip: OLD_NODE === null && 'no Node older than 22.18 here' },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bin-'));
      dirs.push(dir);
      mkdirSync(join(dir, 'bin'));
      copyFileSync(BIN, join(dir, 'bin', 'gatehouse.js'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'gatehouse', type: 'module' }));
      const result = await run(OLD_NODE!, [join(dir, 'bin', 'gatehouse.js'), 'help']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^gatehouse: needs Node\.js 22\.18 or later, and this is v\d+/);
      assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
    },
  );

  test('npx --prefix <checkout> gatehouse help works from another directory', async () => {
    // A cache of its own: npx keeps the bin link it made the first time, and nothing is fetched.
    const cache = mkdtempSync(join(tmpdir(), 'gatehouse-npx-cache-'));
    dirs.push(cache);
    const env = { npm_config_cache: cache, npm_config_offline: 'true', npm_config_update_notifier: 'false' };
    const result = await run('npx', ['--prefix', ROOT, 'gatehouse', 'help'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^usage: gatehouse <command>/m);
  });
});

describe('what the CLI loads', () => {
  /** The modules a CLI run loads, recorded by a module hook. */
  async function loaded(args: string[], env: Record<string, string> = {}): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-loads-'));
    dirs.push(dir);
    const hook = join(dir, 'record.mjs');
    writeFileSync(
      hook,
      `import { registerHooks } from 'node:module';
       const seen = [];
       registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
       process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(seen) + '\\n'));`,
    );
    const result = await run(NODE, ['--import', hook, MAIN, ...args], { env });
    const line = result.stderr.split('\n').find((l) => l.startsWith('LOADED '));
    assert.ok(line, result.stderr);
    return (JSON.parse(line.slice('LOADED '.length)) as string[]).filter((url) => url.startsWith('file:'));
  }

  /** Besides its own files, the CLI loads the secret-shape rule its errors go through (output.ts): three small modules. */
  const RULE = ['secret-redaction.ts', 'key-format.ts', 'base62.ts'].map((file) => `file://${join(ROOT, 'src', 'domain', file)}`);
  const cliOnly = (urls: string[]) => urls.filter((url) => !url.startsWith(`file://${join(ROOT, 'src', 'cli')}/`) && !RULE.includes(url));

  test('help loads nothing but the CLI’s own files (not the server, not zod, not the password hashing)', async () => {
    assert.deepEqual(cliOnly(await loaded(['help'])), []);
  });

  test('a command that only calls the admin API loads nothing but the CLI’s own files', async () => {
    const env = { GATEHOUSE_URL: 'http://127.0.0.1:1', GATEHOUSE_ADMIN_KEY: `gka_live_${'A'.repeat(30)}` };
    assert.deepEqual(cliOnly(await loaded(['keys', 'list'], env)), []);
    assert.deepEqual(cliOnly(await loaded(['audit'], env)), []);
    assert.deepEqual(cliOnly(await loaded(['users', 'list'], env)), []);
  });
});
