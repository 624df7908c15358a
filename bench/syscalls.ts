/**
 * System calls per request, counted by strace: which a proxy makes and how many, exactly (a count,
 * not a time, so the host's noise does not move it). Starts the upstream, the bare undici proxy and
 * a seeded Gatehouse (bench/gatehouse-child.ts), warms each, then attaches `strace -c -f` to one at a
 * time for exactly --requests requests (autocannon -a) and lists the calls per request.
 * `--tool perf` counts with `perf trace -s` instead (kernel tracepoints, far less overhead than
 * strace's ptrace stops) and adds the time spent in each call per request: the kernel's side of a
 * write to loopback includes delivering it to the reader, which a CPU profile shows only as `writev`.
 *
 *   node bench/syscalls.ts [--scenario public] [--requests 20000] [--connections 50] [--tool strace|perf]
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
    tool: { type: 'string', default: 'strace' },
  },
});
if (args.tool !== 'strace' && args.tool !== 'perf') throw new Error(`--tool is strace or perf, not ${args.tool}`);
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

/** Calls whose time is mostly waiting (an idle thread), not work: left out of the total. */
const WAITING = new Set(['futex', 'epoll_pwait', 'epoll_wait', 'poll', 'nanosleep', 'clock_nanosleep']);

/** Calls and seconds by system call, summed over threads, from `strace -c -f` or `perf trace -s`. */
function parseReport(report: string): Map<string, { calls: number; seconds: number }> {
  const bySyscall = new Map<string, { calls: number; seconds: number }>();
  for (const line of report.split('\n')) {
    const cols = line.trim().split(/\s+/);
    let syscall: string, calls: number, seconds: number;
    if (args.tool === 'strace') {
      // % time, seconds, usecs/call, calls, [errors], syscall
      if (cols.length < 5 || !/^\d/.test(cols[0]!) || cols.at(-1) === 'total') continue;
      [syscall, calls, seconds] = [cols.at(-1)!, Number(cols[3]), Number(cols[1])];
    } else {
      // syscall, calls, errors, total (msec), min, avg, max, stddev (one table per thread)
      if (cols.length < 8 || !/^[a-z_]\w*$/.test(cols[0]!) || !/^\d+$/.test(cols[1]!)) continue;
      [syscall, calls, seconds] = [cols[0]!, Number(cols[1]), Number(cols[3]) / 1000];
    }
    const entry = bySyscall.get(syscall) ?? { calls: 0, seconds: 0 };
    entry.calls += calls;
    entry.seconds += seconds;
    bySyscall.set(syscall, entry);
  }
  return bySyscall;
}

async function count(name: string, pid: number, url: string, headers: Record<string, string>): Promise<void> {
  await load(url, headers, 20_000);
  const [command, argv] = args.tool === 'strace' ? ['strace', ['-c', '-f', '-p', String(pid)]] : ['perf', ['trace', '-s', '-p', String(pid)]];
  const tracer = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let report = '';
  tracer.stderr.on('data', (chunk: Buffer) => (report += chunk.toString()));
  tracer.stdout.on('data', (chunk: Buffer) => (report += chunk.toString()));
  await new Promise((r) => setTimeout(r, 1000)); // attached to every thread
  await load(url, headers, REQUESTS);
  tracer.kill('SIGINT');
  await new Promise((r) => tracer.once('exit', r));
  const rows = [...parseReport(report)].sort((a, b) => b[1].seconds - a[1].seconds);
  if (rows.length === 0) throw new Error(`${command} reported nothing:\n${report}`);
  let totalUs = 0;
  console.log(`\n${name}: system calls per request (${REQUESTS} requests): calls, µs in them`);
  for (const [syscall, { calls, seconds }] of rows) {
    if (!WAITING.has(syscall)) totalUs += (seconds * 1e6) / REQUESTS;
    if (calls / REQUESTS >= 0.01)
      console.log(`  ${(calls / REQUESTS).toFixed(2).padStart(6)}  ${((seconds * 1e6) / REQUESTS).toFixed(2).padStart(7)}  ${syscall}`);
  }
  console.log(
    `  µs per request in calls that do not wait: ${totalUs.toFixed(1)}${args.tool === 'strace' ? ' (strace inflates these)' : ' (perf trace adds its own per call)'}`,
  );
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
