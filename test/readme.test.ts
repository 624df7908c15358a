import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { authProblems } from '../src/domain/auth-requirements.ts';
import { ADMIN_PERMISSIONS } from '../src/domain/permissions.ts';
import { ROOT } from './support/cli.ts';
import { freePort, scratchDirs } from './support/scratch.ts';

/**
 * README.md is tested: every YAML block must be a valid configuration, every shell block valid shell,
 * and the commands a new user pastes after `npm start` must work against a started demo, in one
 * shell session, in order, with the values the demo printed and the ids earlier commands printed
 * put where the README has placeholders (`gka_live_...`, `api_...`, `key_...`).
 */

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const WAIT_MS = 60_000;

interface Block {
  lang: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The nearest heading above it. */
  heading: string;
}

function blocks(markdown: string): Block[] {
  const found: Block[] = [];
  let heading = '';
  let open: Block | null = null;
  markdown.split('\n').forEach((line, i) => {
    if (open) {
      if (line.startsWith('```')) (found.push(open), (open = null));
      else open.text += `${line}\n`;
      return;
    }
    const fence = /^```(\w*)/.exec(line);
    if (fence) open = { lang: fence[1]!, text: '', line: i + 1, heading };
    else if (line.startsWith('#')) heading = line.replace(/^#+\s*/, '');
  });
  assert.equal(open, null, 'every code fence in README.md is closed');
  return found;
}

const ALL = blocks(README);
const SHELL = ALL.filter((b) => b.lang === 'sh' || b.lang === 'bash');
const YAML = ALL.filter((b) => b.lang === 'yaml' || b.lang === 'yml');

/** Shell blocks not run against the demo, each with the reason; every other shell block is run. */
const NOT_RUN: Record<string, string> = {
  Gatehouse: 'the quick start itself: the test runs `npm start` as it says, and `npm test` is this suite',
  'Running it for real': 'needs /etc/gatehouse and ports 80 and 443; its config is checked below, and its first steps are run on a temporary directory',
};

/** Splits a shell block into the commands a user pastes one at a time: lines joined at a trailing backslash. */
function commands(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    current += current ? `\n${line}` : line;
    if (line.endsWith('\\')) continue;
    if (current.trim() && !current.trim().startsWith('#')) out.push(current);
    current = '';
  }
  return out;
}

/** PATH as a user's shell has it: without the node_modules/.bin that npm scripts put first. */
const USER_PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((p) => !p.includes(`node_modules${'/'}.bin`))
  .join(delimiter);

const scratch = scratchDirs('gatehouse-readme-');
const tempDir = scratch.make;
const groups = new Set<number>();
after(() => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  scratch.removeAll();
});

/**
 * One interactive bash, like a terminal: commands are sent one at a time and their output read up
 * to a marker, so variables and exports carry from one command to the next. `npx gatehouse` runs the
 * package's bin (what npx resolves in the checkout) without npm's start-up cost.
 */
class Session {
  readonly #child: ChildProcessWithoutNullStreams;
  #stdout = '';
  #stderr = '';
  readonly #marker = `__readme_${randomBytes(6).toString('hex')}__`;

  constructor(env: Record<string, string>) {
    this.#child = spawn('bash', ['--noprofile', '--norc'], {
      cwd: ROOT,
      env: { PATH: USER_PATH, HOME: process.env.HOME ?? tmpdir(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child.stdout.on('data', (c: Buffer) => (this.#stdout += c.toString()));
    this.#child.stderr.on('data', (c: Buffer) => (this.#stderr += c.toString()));
    this.#child.stdin.write(`npx() { if [ "$1" = gatehouse ]; then shift; "${join(ROOT, 'bin', 'gatehouse.js')}" "$@"; else command npx "$@"; fi; }\n`);
  }

  /** Runs one command; `input` is what the user types at a prompt (`read`). */
  async run(command: string, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    this.#stdout = '';
    this.#stderr = '';
    // A command that reads no input gets none: the session's own stdin carries the next commands.
    const line = input === undefined ? `{ ${command}\n} </dev/null\n` : `${command}\n${input}\n`;
    this.#child.stdin.write(`${line}__rc=$?; printf '\\n${this.#marker} %s\\n' "$__rc"; printf '\\n${this.#marker}\\n' >&2\n`);
    const deadline = Date.now() + WAIT_MS;
    while (!(this.#stdout.includes(this.#marker) && this.#stderr.includes(this.#marker))) {
      if (Date.now() > deadline || this.#child.exitCode !== null) assert.fail(`no end to: ${command}\nstdout: ${this.#stdout}\nstderr: ${this.#stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [stdout, code] = this.#stdout.split(`\n${this.#marker} `);
    return { code: Number(code!.trim()), stdout: stdout!, stderr: this.#stderr.split(`\n${this.#marker}`)[0]! };
  }

  close(): void {
    this.#child.stdin.end();
  }
}

describe('README.md', () => {
  test('has shell and YAML examples, and every shell block is either run below or says why not', () => {
    assert.ok(SHELL.length >= 4, 'shell blocks found');
    assert.ok(YAML.length >= 2, 'YAML blocks found');
    for (const heading of Object.keys(NOT_RUN))
      assert.ok(
        SHELL.some((b) => b.heading === heading),
        `a shell block under "${heading}"`,
      );
  });

  test('every shell block is valid shell', () => {
    for (const block of SHELL) {
      const check = spawnSync('bash', ['-n'], { input: block.text, encoding: 'utf8' });
      assert.equal(check.status, 0, `README.md line ${block.line}: ${check.stderr}`);
    }
  });

  test('every YAML block is a valid configuration: it parses, has no repeated key, and passes the config schema', () => {
    for (const block of YAML) {
      let parsed: unknown;
      assert.doesNotThrow(() => (parsed = parseYaml(block.text)), `README.md line ${block.line} is YAML with unique keys`);
      const result = configSchema.safeParse(parsed);
      assert.ok(result.success, `README.md line ${block.line}: ${result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      // APIs declared in the file are checked at start as when created: their auth must be satisfiable.
      for (const api of result.data.apis) assert.deepEqual(authProblems(api.auth, true), {}, `README.md line ${block.line}: API ${api.name}`);
    }
  });

  test('the list of admin key permissions is every permission an admin key can have, and nothing else', () => {
    const list = /^Permissions: `([^`]+)`/m.exec(README);
    assert.ok(list, 'README.md lists the permissions');
    assert.deepEqual(list[1]!.split(/\s+/).sort(), [...ADMIN_PERMISSIONS].sort());
  });

  test('the ports table names the setting that moves each listener the demo opens', () => {
    for (const setting of ['GATEHOUSE_GATEWAY_PORT', 'GATEHOUSE_CONTROL_PORT', 'GATEHOUSE_DEMO_UPSTREAM_PORT']) assert.ok(README.includes(setting), setting);
  });

  test('the quick start works as a new user runs it: npm start, then each command in the README, in order', async () => {
    const quickStart = SHELL.find((b) => b.heading === 'Gatehouse');
    assert.match(quickStart?.text ?? '', /npm start/);

    const dataDir = join(tempDir(), '.gatehouse');
    const ports = { gateway: await freePort(), control: await freePort(), upstream: await freePort() };
    const base = {
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_GATEWAY_PORT: String(ports.gateway),
      GATEHOUSE_CONTROL_PORT: String(ports.control),
      GATEHOUSE_DEMO_UPSTREAM_PORT: String(ports.upstream),
    };
    const demo = spawn('npm', ['start'], {
      cwd: ROOT,
      detached: true,
      env: { PATH: USER_PATH, HOME: process.env.HOME ?? tmpdir(), GATEHOUSE_LOG_LEVEL: 'silent', npm_config_update_notifier: 'false', ...base },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    groups.add(demo.pid!);
    let banner = '';
    let errors = '';
    demo.stderr.on('data', (c: Buffer) => (errors += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not become ready: ${banner} ${errors}`)), WAIT_MS);
      demo.stdout.on('data', (c: Buffer) => {
        banner += c.toString();
        if (banner.includes('Stop with Ctrl+C.')) (clearTimeout(timer), resolve());
      });
      demo.on('exit', (code) => (clearTimeout(timer), reject(new Error(`npm start exited ${code}: ${banner} ${errors}`))));
    });

    const printed = (pattern: RegExp): string => {
      const match = pattern.exec(banner);
      assert.ok(match, `the banner has ${pattern}:\n${banner}`);
      return match[1]!;
    };
    const gatewayUrl = printed(/Gateway:\s+(https:\/\/\S+)/);
    const controlUrl = printed(/Admin API:\s+(http:\/\/\S+)\/admin\/v1/);
    // What the user copies from the banner, and later from each command's output.
    const seen = new Map<string, string>([
      ['gka_live', printed(/Admin key:\s+(gka_live_\w+)/)],
      ['gk_test', printed(/Demo API key:\s+(gk_test_\w+)/)],
    ]);
    const typed: Record<string, () => string> = { KEY: () => seen.get('gk_live')!, PASSWORD: () => 'a first password, typed once' };

    const substitute = (command: string): string => {
      let out = command
        .replaceAll('https://127.0.0.1:8080', gatewayUrl)
        .replaceAll('http://127.0.0.1:8081', controlUrl)
        .replace(/(?<=\s)\.gatehouse\//g, `${dataDir}/`);
      out = out.replace(/\b(gka_live|gk_test|gk_live|api|app|key|usr|cli|pol|sig)_\.\.\./g, (placeholder, prefix: string) => {
        const value = seen.get(prefix);
        assert.ok(value, `nothing printed so far gives a value for ${placeholder} in: ${command}`);
        return value;
      });
      return out;
    };
    /** Keeps the first value of each kind in `output`. */
    const remember = (output: string): void => {
      for (const prefix of ['gk_live', 'api', 'app', 'key', 'usr', 'cli', 'pol', 'sig']) {
        const pattern = prefix === 'gk_live' ? /\bgk_live_[0-9A-Za-z]{30}\b/ : new RegExp(`\\b${prefix}_[0-9a-f]{28}\\b`);
        const found = pattern.exec(output);
        if (found) seen.set(prefix, found[0]);
      }
    };

    const session = new Session({ GATEHOUSE_DATA_DIR: dataDir });
    try {
      for (const block of SHELL.filter((b) => !(b.heading in NOT_RUN))) {
        for (const command of commands(block.text)) {
          const read = /^read\s+(?:-\w+\s+)*(\w+)/.exec(command.trim());
          if (read) assert.ok(typed[read[1]!], `README.md line ${block.line}: what would a user type for ${read[1]}?`);
          const run = await session.run(substitute(command), read ? typed[read[1]!]!() : undefined);
          const where = `README.md line ${block.line} (${block.heading}): ${command}\nexit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
          assert.equal(run.code, 0, where);
          if (/^curl -i\b/.test(command.trim())) assert.match(run.stdout, /^HTTP\/1\.1 2\d\d /, where);
          if (command.includes('[1-10]')) assert.match(run.stdout, /\b429\b/, `the rate-limit example shows a 429: ${where}`);
          // Ids are taken from what a command made (the first id it printed), as a user copies them.
          if (/\b(create|rotate)\b/.test(command)) remember(run.stdout);
        }
      }
    } finally {
      session.close();
      process.kill(-demo.pid!, 'SIGTERM');
    }
    await new Promise((resolve) => (demo.exitCode === null ? demo.once('exit', resolve) : resolve(null)));
    groups.delete(demo.pid!);
  });

  test('a real deployment’s first steps work as written: secrets, migrate, and the first admin key, with the README’s gatehouse.yaml', async () => {
    const block = SHELL.find((b) => b.heading === 'Running it for real');
    const yaml = YAML.find((b) => b.heading === 'Running it for real');
    assert.ok(block && yaml);
    // No etc/ made here: the README's commands must make the directory its secrets go in.
    const root = tempDir();
    const local = (text: string) => text.replaceAll('/etc/gatehouse', join(root, 'etc')).replaceAll('/var/lib/gatehouse', join(root, 'data'));
    writeFileSync(join(root, 'gatehouse.yaml'), local(yaml.text));
    const session = new Session({});
    try {
      assert.equal((await session.run(`cd ${root}`)).code, 0);
      for (const command of commands(block.text)) {
        // Starting the server needs its TLS files and ports 80 and 443; the demo covers the running server.
        if (/gatehouse start\b/.test(command)) continue;
        const run = await session.run(local(command));
        assert.equal(run.code, 0, `README.md line ${block.line}: ${command}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
        if (command.includes('admin-keys create')) assert.match(run.stdout, /gka_live_[0-9A-Za-z]{30}/, 'the first admin key is printed');
      }
    } finally {
      session.close();
    }
    const config = loadConfig({ file: join(root, 'gatehouse.yaml'), env: {} });
    assert.equal(config.peppers.length, 1, 'the pepper comes from the file the README makes');
    assert.ok(config.masterKey, 'the master key too, so the authorization server is on');
  });
});
