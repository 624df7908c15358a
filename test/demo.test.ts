import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { freePort, scratchDirs } from './support/scratch.ts';
import { asPage, Browser } from './support/oauth.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const WAIT_MS = 60_000;

const children = new Set<ChildProcessWithoutNullStreams>();
const scratch = scratchDirs('gatehouse-demo-test-');
const tempDir = scratch.make;

after(() => {
  for (const child of children) child.kill('SIGKILL');
  scratch.removeAll();
});

interface Demo {
  child: ChildProcessWithoutNullStreams;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `gatehouse demo` and resolves once `ready(stdout)` is true; rejects if it exits or takes too long. */
function startDemo(
  dataDir: string,
  upstreamPort: number,
  args: string[],
  ready: (stdout: string) => boolean,
  extraEnv: Record<string, string> = {},
): Promise<Demo> {
  const env: Record<string, string> = {
    ...extraEnv,
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_GATEWAY_PORT: '0',
    GATEHOUSE_CONTROL_PORT: '0',
    GATEHOUSE_DEMO_UPSTREAM_PORT: String(upstreamPort),
    GATEHOUSE_LOG_LEVEL: 'silent',
    ...extraEnv,
  };
  const child = spawn(NODE, [MAIN, 'demo', ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const demo: Demo = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) =>
      child.on('close', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
    ),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not become ready in time; stdout: ${demo.stdout} stderr: ${demo.stderr}`)), WAIT_MS);
    child.stderr.on('data', (c: Buffer) => (demo.stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      demo.stdout += c.toString();
      if (ready(demo.stdout)) {
        clearTimeout(timer);
        resolve(demo);
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void demo.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`demo exited (code ${code}, signal ${signal}) before it was ready; stdout: ${demo.stdout} stderr: ${demo.stderr}`));
    });
  });
}

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

async function startJsonDemo(dataDir: string, upstreamPort: number): Promise<{ demo: Demo; info: any }> {
  const demo = await startDemo(dataDir, upstreamPort, ['--json'], parses);
  return { demo, info: JSON.parse(demo.stdout) };
}

async function stop(demo: Demo): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  demo.child.kill('SIGTERM');
  return demo.exited;
}

/** Trusts the demo's development CA, as the banner tells a developer to. */
let dispatcher: Agent | undefined;
function trust(caFile: string): void {
  dispatcher = new Agent({ connect: { ca: readFileSync(caFile) } });
}

async function get(url: string, key?: string) {
  const res = await undiciFetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {}, ...(dispatcher ? { dispatcher } : {}) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

/** PATH as a user's shell has it: without the node_modules/.bin that npm scripts put first. */
const USER_PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((p) => !p.includes(`node_modules${'/'}.bin`))
  .join(delimiter);

/** Runs lines pasted from the banner in one bash session in the checkout, as a developer would; stops at the first failure. */
function paste(lines: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const npxCache = tempDir();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-x', '-c', lines.join('\n')], {
      cwd: ROOT,
      env: {
        PATH: USER_PATH,
        HOME: process.env.HOME ?? tmpdir(),
        npm_config_cache: npxCache,
        npm_config_offline: 'true',
        npm_config_update_notifier: 'false',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The commands in a banner: its indented lines that start with a command a developer would paste. */
const bannerCommands = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((line) => /^ {2}(curl|export|npx|TOKEN=)/.test(line))
    .map((line) => line.trim());

describe('gatehouse demo', () => {
  test('first start prints working secrets as JSON; a restart keeps the data and prints no secrets', async () => {
    const dataDir = join(tempDir(), 'data');
    const upstreamPort = await freePort();

    const { demo: first, info } = await startJsonDemo(dataDir, upstreamPort);
    try {
      assert.match(info.gatewayUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(info.caFile, join(dataDir, 'tls', 'ca.pem'));
      trust(info.caFile);
      assert.match(info.adminUrl, /^http:\/\/127\.0\.0\.1:\d+\/admin\/v1$/);
      assert.equal(info.dataDir, dataDir);
      assert.match(info.adminKey, /^gka_live_[0-9A-Za-z]{30}$/);
      assert.match(info.apiKey, /^gk_test_[0-9A-Za-z]{30}$/);

      const hello = await get(`${info.gatewayUrl}/demo/hello`, info.apiKey);
      assert.equal(hello.status, 200);
      assert.equal(hello.body.path, '/hello');
      assert.equal(hello.body.method, 'GET');
      assert.equal(hello.body.receivedCredential, false, 'the gateway does not pass the API key upstream');
      assert.match(hello.body.app, /^app_[0-9a-f]{28}$/);

      const keys = await get(`${info.adminUrl}/keys`, info.adminKey);
      assert.equal(keys.status, 200);
      assert.equal(keys.body.items.length, 1);
      assert.equal(keys.body.items[0].appId, hello.body.app, 'the upstream saw the demo key’s app id');
      assert.equal(keys.body.items[0].id, hello.body.keyId);
      assert.ok(!JSON.stringify(keys.body).includes(info.apiKey));

      assert.equal((await get(`${info.gatewayUrl}/demo/hello`)).status, 401, 'the demo API needs the key');

      const pepper = statSync(join(dataDir, 'pepper'));
      assert.equal(pepper.mode & 0o777, 0o600);
      assert.equal(statSync(join(dataDir, 'tls', 'key.pem')).mode & 0o777, 0o600);
      // Without credentials: a key sent this way would be flagged as exposed (the banner test checks that).
      const plain = await fetch(info.gatewayUrl.replace('https:', 'http:')).then(
        (r) => r.status,
        () => 'refused',
      );
      assert.equal(plain, 400, 'no plain HTTP on the HTTPS port: 400 HTTPS_REQUIRED');
    } finally {
      const exit = await stop(first);
      assert.equal(exit.code, 0, `stderr: ${first.stderr}`);
    }

    const { demo: second, info: again } = await startJsonDemo(dataDir, upstreamPort);
    try {
      assert.equal('adminKey' in again, false);
      assert.equal('apiKey' in again, false);
      assert.match(again.gatewayUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(again.dataDir, dataDir);

      const hello = await get(`${again.gatewayUrl}/demo/hello`, info.apiKey);
      assert.equal(hello.status, 200, 'the API key from the first start still works');
      assert.equal(hello.body.receivedCredential, false);

      const keys = await get(`${again.adminUrl}/keys`, info.adminKey);
      assert.equal(keys.status, 200, 'the admin key from the first start still works');
      assert.equal(keys.body.items.length, 1, 'demo objects are not created twice');
      const apis = await get(`${again.adminUrl}/apis`, info.adminKey);
      assert.equal(apis.body.items.length, 1);

      assert.equal(statSync(join(dataDir, 'pepper')).mode & 0o777, 0o600);
    } finally {
      const exit = await stop(second);
      assert.equal(exit.code, 0, `stderr: ${second.stderr}`);
    }
  });

  test('the human output of a first start has a ready-to-paste curl line that works', async () => {
    const dataDir = tempDir();
    const upstreamPort = await freePort();
    const demo = await startDemo(dataDir, upstreamPort, [], (out) => out.includes('Stop with Ctrl+C.'));
    try {
      const gatewayUrl = demo.stdout.match(/Gateway:\s+(https:\/\/127\.0\.0\.1:\d+)/)?.[1];
      assert.ok(gatewayUrl, demo.stdout);
      const curl = demo.stdout.match(/^\s*curl -i --cacert (\S+) -H "Authorization: Bearer (gk_test_[0-9A-Za-z]{30})" (\S+)$/m);
      assert.ok(curl, `no curl line in:\n${demo.stdout}`);
      assert.equal(curl[3], `${gatewayUrl}/demo/hello`);
      trust(curl[1]!);
      assert.match(demo.stdout, /Admin key:\s+gka_live_[0-9A-Za-z]{30}/);

      const hello = await get(curl[3]!, curl[2]);
      assert.equal(hello.status, 200);
      assert.equal(hello.body.receivedCredential, false);

      // The web app: its URL, the demo operator and developer with their passwords; each signs in with
      // them alone: demo mode turns off the second factor admins need elsewhere, and says so.
      assert.match(
        demo.stdout,
        /Demo only: console admins and operators sign in here without a second factor \(authorization\.mfaRequiredConsoleRoles: \[\] in demo mode\)/,
      );
      assert.match(demo.stdout, /Outside the demo \(gatehouse start\) they must set up TOTP at their first sign-in/);
      const consoleUrl = demo.stdout.match(/Web app:\s+(http:\/\/127\.0\.0\.1:\d+)\/console\//)?.[1];
      assert.ok(consoleUrl, demo.stdout);
      const accounts = [...demo.stdout.matchAll(/^ {2}(?:Operator|Developer) \([^)]*\):\s+(\S+@example\.com) \/ (\S+)$/gm)].map((m) => [m[1]!, m[2]!]);
      assert.deepEqual(
        accounts.map(([user]) => user),
        ['demo@example.com', 'developer@example.com'],
        demo.stdout,
      );
      // Each generated password is printed once, under the account it signs in.
      for (const [, password] of accounts) assert.equal(demo.stdout.split(password!).length - 1, 1, 'printed once');
      for (const [[username, password], role] of accounts.map((a, i) => [a, ['admin', 'developer'][i]] as const)) {
        const browser = new Browser(consoleUrl);
        const login = asPage(await browser.go('/bff/login'));
        await browser.submit(login, { username: username!, password: password! }, '/login');
        const session = await fetch(`${consoleUrl}/bff/session`, {
          headers: { cookie: `__Host-gatehouse-session=${browser.cookies.get('__Host-gatehouse-session')}` },
        });
        assert.equal(((await session.json()) as { role: string }).role, role);
      }
    } finally {
      const exit = await stop(demo);
      assert.equal(exit.code, 0, `stderr: ${demo.stderr}`);
    }

    const restarted = await startDemo(dataDir, upstreamPort, [], (out) => out.includes('Stop with Ctrl+C.'));
    try {
      assert.doesNotMatch(restarted.stdout, /gk_test_[0-9A-Za-z]{30}/, 'no API key secret on a restart');
      assert.doesNotMatch(restarted.stdout, /gka_live_[0-9A-Za-z]{30}/, 'no admin key secret on a restart');
      assert.match(restarted.stdout, /created on the first start/);
    } finally {
      await stop(restarted);
    }
  });

  test('listening on every address with a redirect port, plain HTTP is sent to a working https://localhost URL, whatever Host it named', async () => {
    const dataDir = tempDir();
    const upstreamPort = await freePort();
    const redirectPort = await freePort();
    const demo = await startDemo(dataDir, upstreamPort, ['--json'], parses, {
      GATEHOUSE_GATEWAY_HOST: '0.0.0.0',
      GATEHOUSE_GATEWAY_HTTP_REDIRECT_PORT: String(redirectPort),
    });
    try {
      const info = JSON.parse(demo.stdout);
      trust(info.caFile);
      const res = await fetch(`http://127.0.0.1:${redirectPort}/demo/hello`, { redirect: 'manual', headers: { host: 'evil.example' } });
      assert.equal(res.status, 308);
      const location = res.headers.get('location')!;
      assert.match(location, /^https:\/\/localhost:\d+\/demo\/hello$/);
      assert.equal((await get(location, info.apiKey)).status, 200, 'the development certificate is valid there');
    } finally {
      const exit = await stop(demo);
      assert.equal(exit.code, 0, `stderr: ${demo.stderr}`);
    }
  });

  test('the banner says what plain HTTP to the gateway gets, and that is what it gets: 400 HTTPS_REQUIRED, or 403 and the key flagged, on the gateway port; 403 and the key flagged on a redirect port', async () => {
    const printed = (demo: Demo, pattern: RegExp): string => {
      const match = pattern.exec(demo.stdout);
      assert.ok(match, `the banner has ${pattern}:\n${demo.stdout}`);
      return match[1]!;
    };
    const exposedKeys = async (demo: Demo): Promise<unknown[]> => {
      const adminUrl = printed(demo, /Admin API:\s+(http:\/\/\S+\/admin\/v1)/);
      const adminKey = printed(demo, /Admin key:\s+(gka_live_\w+)/);
      const res = await fetch(`${adminUrl}/keys?exposed=true`, { headers: { authorization: `Bearer ${adminKey}` } });
      return ((await res.json()) as { items: unknown[] }).items;
    };

    const demo = await startDemo(tempDir(), await freePort(), [], (out) => out.includes('Stop with Ctrl+C.'));
    try {
      assert.match(
        demo.stdout,
        /Plain http:\/\/ to the gateway port gets 400 HTTPS_REQUIRED; credentials sent that way are refused \(403\), and an API key sent that way is flagged as exposed\./,
      );
      assert.match(demo.stdout, /GATEHOUSE_GATEWAY_HTTP_REDIRECT_PORT/);
      const gatewayUrl = printed(demo, /Gateway:\s+(https:\/\/127\.0\.0\.1:\d+)/);
      const apiKey = printed(demo, /Demo API key:\s+(gk_test_\w+)/);
      const plainUrl = `${gatewayUrl.replace('https:', 'http:')}/demo/hello`;
      const bare = await fetch(plainUrl);
      assert.equal(bare.status, 400);
      assert.equal(((await bare.json()) as { code: string }).code, 'HTTPS_REQUIRED');
      assert.deepEqual(await exposedKeys(demo), [], 'no key was sent');
      const withKey = await fetch(plainUrl, { headers: { authorization: `Bearer ${apiKey}` } });
      assert.equal(withKey.status, 403);
      assert.equal(((await withKey.json()) as { code: string }).code, 'CREDENTIALS_OVER_HTTP');
      let exposed: unknown[] = [];
      for (let i = 0; i < 50 && exposed.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        exposed = await exposedKeys(demo);
      }
      assert.equal(exposed.length, 1, 'the key sent over plain HTTP to the gateway port is flagged as exposed');
    } finally {
      await stop(demo);
    }

    const redirectPort = await freePort();
    const redirecting = await startDemo(tempDir(), await freePort(), [], (out) => out.includes('Stop with Ctrl+C.'), {
      GATEHOUSE_GATEWAY_HTTP_REDIRECT_PORT: String(redirectPort),
    });
    try {
      assert.match(
        redirecting.stdout,
        new RegExp(`Plain HTTP on http://127\\.0\\.0\\.1:${redirectPort} only redirects to HTTPS: credentials sent there are refused`),
      );
      const apiKey = printed(redirecting, /Demo API key:\s+(gk_test_\w+)/);
      const res = await fetch(`http://127.0.0.1:${redirectPort}/demo/hello`, { headers: { authorization: `Bearer ${apiKey}` }, redirect: 'manual' });
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { code: string }).code, 'CREDENTIALS_OVER_HTTP');
      let exposed: unknown[] = [];
      for (let i = 0; i < 50 && exposed.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        exposed = await exposedKeys(redirecting);
      }
      assert.equal(exposed.length, 1, 'the key sent over plain HTTP is flagged as exposed');
    } finally {
      await stop(redirecting);
    }
  });

  test('a demo upstream port already in use makes the demo exit 1 saying so', async () => {
    const dataDir = tempDir();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      await assert.rejects(startDemo(dataDir, port, ['--json'], parses), (error: Error) => {
        assert.match(error.message, /code 1,/);
        assert.match(error.message, new RegExp(`port ${port} is already in use.*GATEHOUSE_DEMO_UPSTREAM_PORT`));
        return true;
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
  test('every command the first-start banner prints works when pasted into a shell, on ports that are not the defaults', async () => {
    const dataDir = tempDir();
    const demo = await startDemo(dataDir, await freePort(), [], (out) => out.includes('Stop with Ctrl+C.'));
    try {
      const commands = bannerCommands(demo.stdout);
      assert.ok(
        commands.some((c) => c.startsWith('export GATEHOUSE_URL=')),
        `the banner says where the admin API is:\n${demo.stdout}`,
      );
      assert.ok(
        commands.some((c) => c.includes('/demo/me')),
        demo.stdout,
      );
      const run = await paste(commands);
      assert.equal(run.code, 0, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
      assert.match(run.stdout, /"path":"\/hello"/, 'the demo API answered through the gateway');
      assert.match(run.stdout, /^(200 )+429 (\d{3} )*$/m, 'the rate-limit command shows 200s, then a 429');
      const me = JSON.parse(run.stdout.split('\n').find((line) => line.includes('"path":"/me"'))!);
      assert.match(me.client, /^cli_/, '/demo/me shows the client the token was issued to');
      assert.equal(me.user, me.client, 'a client-credentials token’s subject is the client');
      assert.ok(Array.isArray(me.scopes));
      assert.equal(typeof me.headers['x-gatehouse-client'], 'string', 'every identity header is echoed');
      assert.match(run.stdout, /key_[0-9a-f]{28}/, 'keys list reached the admin API on its non-default port');
    } finally {
      await stop(demo);
    }
  });

  test('a restart’s banner gives the curl its --cacert note points to, and where the admin API is', async () => {
    const dataDir = tempDir();
    const upstreamPort = await freePort();
    await stop(await startDemo(dataDir, upstreamPort, [], (out) => out.includes('Stop with Ctrl+C.')));
    const restarted = await startDemo(dataDir, upstreamPort, [], (out) => out.includes('Stop with Ctrl+C.'));
    try {
      const gatewayUrl = restarted.stdout.match(/Gateway:\s+(https:\/\/127\.0\.0\.1:\d+)/)?.[1];
      assert.match(restarted.stdout, new RegExp(`^\\s*curl -i --cacert \\S+ -H "Authorization: Bearer \\S+" ${gatewayUrl}/demo/hello$`, 'm'), restarted.stdout);
      const controlUrl = restarted.stdout.match(/Admin API:\s+(http:\/\/127\.0\.0\.1:\d+)\/admin\/v1/)?.[1];
      assert.ok(controlUrl, restarted.stdout);
      assert.ok(restarted.stdout.includes(`export GATEHOUSE_URL=${controlUrl}`), restarted.stdout);
      const newAdminKey = restarted.stdout.split('\n').find((line) => /^ {2}GATEHOUSE_DATA_DIR=\S+ npx gatehouse admin-keys create /.test(line));
      assert.ok(newAdminKey, `the banner says how to make a new admin key:\n${restarted.stdout}`);
      const made = await paste([newAdminKey.trim()]);
      assert.equal(made.code, 0, made.stderr);
      const secret = made.stdout.match(/gka_live_[0-9A-Za-z]{30}/)?.[0];
      assert.ok(secret, made.stdout);
      assert.equal((await get(`${controlUrl}/admin/v1/keys`, secret)).status, 200, 'the new admin key works against the running demo');
    } finally {
      await stop(restarted);
    }
  });

  test('a restart on another demo upstream port moves the demo API to it', async () => {
    const dataDir = tempDir();
    const { demo: first, info } = await startJsonDemo(dataDir, await freePort());
    await stop(first);
    const { demo: second, info: again } = await startJsonDemo(dataDir, await freePort());
    try {
      trust(again.caFile);
      const hello = await get(`${again.gatewayUrl}/demo/hello`, info.apiKey);
      assert.equal(hello.status, 200, JSON.stringify(hello.body));
    } finally {
      await stop(second);
    }
  });

  for (const [setting, listener] of [
    ['GATEHOUSE_GATEWAY_PORT', 'gateway'],
    ['GATEHOUSE_CONTROL_PORT', 'control'],
  ] as const) {
    test(`a ${listener} port already in use makes the demo exit 1 naming ${setting}`, async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as { port: number };
      try {
        await assert.rejects(startDemo(tempDir(), await freePort(), ['--json'], parses, { [setting]: String(port) }), (error: Error) => {
          assert.match(error.message, /code 1,/);
          assert.match(error.message, new RegExp(`port ${port} is already in use.*${setting}`));
          return true;
        });
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });
  }
});
