/**
 * Benchmark of the authorization server's two busiest endpoints, on loopback:
 *   node bench/authorization.ts [--seconds 10] [--connections 20]
 * - POST /token, client_credentials with client_secret_basic, an ES256 JWT access token per request;
 * - POST /token/introspection of such a JWT (signature check, revocation list, client policy).
 * Gatehouse runs in a child process (pinned to the last CPU when taskset is there); autocannon
 * drives it from this process. Reported per endpoint: requests/s, latency p50/p99, and the child's
 * CPU time per request, beside the CPU cost of one bare `jose` ES256 sign and verify measured here,
 * so the endpoint's cost reads as a multiple of the signature work it cannot avoid.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '20' } } });
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const PIN = cpus().length >= 2 && !spawnSync('taskset', ['-c', '0', 'true']).error;
const LAST_CPU = String(cpus().length - 1);

interface Ready {
  url: string;
  authorization: string;
  token: string;
}

function message<T>(proc: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string } & T) => m.type === type && (proc.off('message', onMessage), resolve(m));
    proc.on('message', onMessage);
    proc.once('exit', (code) => reject(new Error(`child exited (${code})`)));
  });
}

async function cpuMicros(proc: ChildProcess): Promise<number> {
  const reply = message<{ user: number; system: number }>(proc, 'cpu');
  proc.send({ type: 'cpu' });
  const { user, system } = await reply;
  return user + system;
}

interface LoadResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  latency: { p50: number; p99: number };
}

/** autocannon's CLI with JSON output, as bench/gateway.ts runs it. */
function load(url: string, authorization: string, body: string, seconds: number): LoadResult {
  const bin = join(here, '..', 'node_modules', '.bin', 'autocannon');
  const argv = [
    '-j',
    '-c',
    String(CONNECTIONS),
    '-d',
    String(seconds),
    '-m',
    'POST',
    '-H',
    `authorization=${authorization}`,
    '-H',
    'content-type=application/x-www-form-urlencoded',
    '-b',
    body,
    url,
  ];
  const out = spawnSync(bin, argv, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (out.status !== 0) throw new Error(`autocannon failed: ${out.stderr}`);
  return JSON.parse(out.stdout) as LoadResult;
}

async function scenario(proc: ChildProcess, name: string, url: string, authorization: string, body: string) {
  load(url, authorization, body, 3);
  const before = await cpuMicros(proc);
  const result = load(url, authorization, body, SECONDS);
  const cpu = (await cpuMicros(proc)) - before;
  const ok = result['2xx'];
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx and ${result.errors} errors`);
  return { name, rps: ok / SECONDS, p50: result.latency.p50, p99: result.latency.p99, cpuPerRequest: cpu / ok };
}

/** CPU µs of one bare ES256 sign and one verify with jose, in this process. */
async function bareJose(): Promise<{ sign: number; verify: number }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const n = 3000;
  const sign = () =>
    new SignJWT({ scope: 'bench:read', client_id: 'c' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setIssuer('i')
      .setAudience('a')
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(privateKey);
  for (let i = 0; i < 300; i++) await sign();
  let start = process.cpuUsage();
  let jwt = '';
  for (let i = 0; i < n; i++) jwt = await sign();
  let used = process.cpuUsage(start);
  const signCost = (used.user + used.system) / n;
  start = process.cpuUsage();
  for (let i = 0; i < n; i++) await jwtVerify(jwt, publicKey, { algorithms: ['ES256'] });
  used = process.cpuUsage(start);
  return { sign: signCost, verify: (used.user + used.system) / n };
}

const [execPath, execArgv] = PIN ? ['taskset', ['-c', LAST_CPU, process.execPath]] : [process.execPath, []];
const child = fork(join(here, 'authorization-child.ts'), [], { execPath, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
try {
  const ready = await message<Ready>(child, 'ready');
  const token = await scenario(
    child,
    'POST /token (client_credentials, ES256 JWT)',
    `${ready.url}/token`,
    ready.authorization,
    'grant_type=client_credentials&scope=bench:read',
  );
  const introspection = await scenario(
    child,
    'POST /token/introspection (ES256 JWT)',
    `${ready.url}/token/introspection`,
    ready.authorization,
    `token=${ready.token}`,
  );
  const jose = await bareJose();
  const rows = [
    [token.name, token, jose.sign],
    [introspection.name, introspection, jose.verify],
  ] as const;
  const lines = [
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; Gatehouse ${PIN ? `pinned to CPU ${LAST_CPU}` : 'not pinned'}; autocannon -c ${CONNECTIONS}, ${SECONDS} s after 3 s of warm-up.`,
    '',
    '| endpoint | requests/s | p50 ms | p99 ms | CPU µs/request | bare jose µs | ratio |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      ([name, r, bare]) =>
        `| ${name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.cpuPerRequest.toFixed(0)} | ${bare.toFixed(0)} | ${(r.cpuPerRequest / bare).toFixed(1)}× |`,
    ),
    '',
    'bare jose: one ES256 sign (for /token) or verify (for introspection) in the parent process.',
  ];
  console.log(lines.join('\n'));
} finally {
  child.send({ type: 'stop' });
}
