/**
 * System calls per request, counted by strace: which a proxy makes and how many, exactly (a count,
 * not a time, so the host's noise does not move it). Starts the upstream, the bare undici proxy and
 * a seeded Gatehouse (bench/gatehouse-child.ts), warms each, then attaches `strace -c -f` to one at a
 * time for exactly --requests requests (autocannon -a) and lists the calls per request.
 *
 *   node bench/syscalls.ts [--scenario public] [--requests 20000] [--connections 50]
 */
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAll, startChild, stopChild } from './lib/children.ts';
import { pinning } from './lib/pinning.ts';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'public' },
    requests: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '50' },
  },
});
const REQUESTS = Number(args.requests);
const pin = pinning(false);

const AUTOCANNON = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin', 'autocannon');

/** Exactly `amount` requests (autocannon -a), failing on any error or non-2xx answer. */
async function load(url: string, headers: Record<string, string>, amount: number): Promise<void> {
  const h = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
  const out = await new Promise<string>((resolve, reject) =>
    execFile(AUTOCANNON, ['-j', '-c', String(args.connections), '-a', String(amount), ...h, url], { maxBuffer: 1 << 24 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
  const result = JSON.parse(out) as { errors: number; non2xx: number };
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx`);
}

async function count(name: string, pid: number, url: string, headers: Record<string, string>): Promise<void> {
  await load(url, headers, 20_000);
  const strace = spawn('strace', ['-c', '-f', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let report = '';
  strace.stderr.on('data', (chunk: Buffer) => (report += chunk.toString()));
  await new Promise((r) => setTimeout(r, 1000)); // attached to every thread
  await load(url, headers, REQUESTS);
  strace.kill('SIGINT');
  await new Promise((r) => strace.once('exit', r));
  console.log(`\n${name}: system calls per request (${REQUESTS} requests)`);
  for (const line of report.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (cols.length < 5 || !/^\d/.test(cols[0]!)) continue;
    const calls = Number(cols[3]);
    const syscall = cols.at(-1)!;
    if (calls / REQUESTS >= 0.01) console.log(`  ${(calls / REQUESTS).toFixed(2).padStart(6)}  ${syscall}`);
  }
}

try {
  const upstream = await startChild(pin, 'upstream', 'upstream-child.ts', [], '0-1');
  const bare = await startChild(pin, 'bare proxy', 'bare-proxy-child.ts', [upstream.url], '0-1');
  const gatehouse = await startChild<{ url: string; path: string; headers: Record<string, string> }>(
    pin,
    'gatehouse',
    'gatehouse-child.ts',
    [upstream.url, args.scenario!, 'on', '1'],
    '0-1',
  );
  await count('bare undici proxy', bare.proc.pid!, `${bare.url}${gatehouse.path}`, gatehouse.headers);
  await count(`Gatehouse ${args.scenario}`, gatehouse.proc.pid!, `${gatehouse.url}${gatehouse.path}`, gatehouse.headers);
  for (const c of [gatehouse, bare, upstream]) await stopChild(c.proc);
} catch (error) {
  console.error(error);
  killAll();
  process.exitCode = 1;
}
