/**
 * Instructions per request, counted by valgrind's callgrind: a measure of a proxy's per-request cost that
 * other work on a shared host does not disturb (CPU time does; instruction counts do not). Each target
 * (the bare undici proxy, then each Gatehouse variant) runs alone under `valgrind --tool=callgrind` with
 * instrumentation off; after --warmup requests (JIT, pools, caches), instrumentation is switched on
 * (`callgrind_control -i on`), exactly --requests requests are sent (autocannon -a, --connections
 * connections), and it is switched off again and the counts dumped. Instructions per request = the
 * dump's total / --requests, less what an idle window as long counts (timer-driven background work, which
 * valgrind's slowness would otherwise charge to the requests). Run it twice to see how repeatable it is.
 *
 *   node bench/callgrind-cost.ts [--requests 5000] [--warmup 10000] [--connections 10] [--settle 20] [--no-bare]
 *                                [--variant 'label|scenario|mode|{"config":"json"}|/other/tree'] ...
 *
 * Variants as in bench/cost-ab.ts (scenario as in bench/seed.ts, mode on|metrics-off|observability-off,
 * config over the defaults, another checkout's bench/gatehouse-child.ts). With --functions N, the N
 * functions with the most instructions (inclusive of nothing: self cost) per request are listed per
 * target, from callgrind_annotate. valgrind makes the process 30-100× slower: start-up takes minutes.
 */
import { execFile, execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAll, nextMessage, stopChild, track } from './lib/children.ts';
import { BenchFailure } from './lib/load.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: [] },
    requests: { type: 'string', default: '5000' },
    warmup: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '10' },
    keys: { type: 'string', default: '1' },
    bare: { type: 'boolean', default: true },
    settle: { type: 'string', default: '20' },
    functions: { type: 'string', default: '0' },
  },
  allowNegative: true,
});
const REQUESTS = Number(args.requests);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const outDir = mkdtempSync(join(tmpdir(), 'gatehouse-callgrind-'));

interface Ready {
  url: string;
  path?: string;
  headers?: Record<string, string>;
  /** Older trees' children send the key alone. */
  secret?: string;
}

function underValgrind(script: string, argv: string[], cwd: string, label: string): ChildProcess {
  const out = join(outDir, `${label.replace(/\W+/g, '-')}.%p.out`);
  return track(
    fork(script, argv, {
      cwd,
      execPath: 'valgrind',
      execArgv: [
        '--tool=callgrind',
        '--instr-atstart=no',
        // V8 writes and rewrites machine code: without this, valgrind would run stale translations.
        '--smc-check=all',
        `--callgrind-out-file=${out}`,
        process.execPath,
        '--disable-warning=ExperimentalWarning',
      ],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    }),
  );
}

function autocannon(url: string, headers: Record<string, string>, amount: number): Promise<void> {
  const h = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
  return new Promise((resolve, reject) => {
    execFile(
      join(here, '..', 'node_modules', '.bin', 'autocannon'),
      ['-j', '-c', args.connections, '-a', String(amount), '-t', '60', ...h, url],
      { maxBuffer: 1 << 26 },
      (error, stdout) => {
        if (error) return reject(error);
        const r = JSON.parse(stdout) as { non2xx: number; errors: number; timeouts: number };
        if (r.non2xx + r.errors + r.timeouts > 0) reject(new BenchFailure(`failed requests: ${JSON.stringify(r)}`));
        else resolve();
      },
    );
  });
}

function instructions(pid: number, label: string, dump: number): { total: number; top: string[] } {
  execFileSync('callgrind_control', ['-d', String(pid)]);
  const name = `${label.replace(/\W+/g, '-')}.${pid}.out.${dump}`;
  const files = readdirSync(outDir).filter((f) => f === name || f.startsWith(`${name}-`));
  if (files.length === 0) throw new Error(`no callgrind dump for ${label} in ${outDir}`);
  let total = 0;
  for (const f of files) {
    const m = /^totals: (\d+)/m.exec(readFileSync(join(outDir, f), 'utf8'));
    if (m) total += Number(m[1]);
  }
  const top: string[] = [];
  const n = Number(args.functions);
  if (n > 0 && dump === 1) {
    const text = execFileSync('callgrind_annotate', ['--threshold=100', ...files.map((f) => join(outDir, f))], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const lines = text.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l));
    for (const l of lines.slice(1, n + 1)) {
      const [count, ...rest] = l.trim().split(/\s+/);
      top.push(`${(Number(count!.replace(/,/g, '')) / REQUESTS).toFixed(0).padStart(8)} ${rest.slice(1).join(' ').slice(0, 140)}`);
    }
  }
  return { total, top };
}

try {
  const upstreamProc = track(fork(join(here, 'upstream-child.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const upstream = await nextMessage<Ready>(upstreamProc, 'ready');
  const targets: { label: string; script: string; argv: string[]; cwd: string }[] = [];
  if (args.bare) targets.push({ label: 'bare undici proxy', script: join(here, 'bare-proxy-child.ts'), argv: [upstream.url], cwd: join(here, '..') });
  for (const spec of args.variant as string[]) {
    const [label, scenario = 'apiKey', mode = 'on', config = '{}', tree] = spec.split('|');
    const root = tree ?? join(here, '..');
    targets.push({
      label: label!,
      script: join(root, 'bench', 'gatehouse-child.ts'),
      argv: [upstream.url, scenario, mode, scenario === 'apiKey' ? args.keys : '1', config],
      cwd: root,
    });
  }
  let bareHeaders: Record<string, string> | null = null;
  const rows: string[] = [];
  for (const t of targets) {
    const started = Date.now();
    const proc = underValgrind(t.script, t.argv, t.cwd, t.label);
    proc.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (!/^==\d+==/m.test(text) || /error|Error/.test(text)) process.stderr.write(text.replace(/^==\d+== ?/gm, ''));
    });
    const ready = await nextMessage<Ready>(proc, 'ready', 1_800_000);
    const headers: Record<string, string> = ready.headers ?? (ready.secret ? { authorization: `Bearer ${ready.secret}` } : (bareHeaders ?? {}));
    const path = ready.path ?? '/bench';
    // The bare proxy gets the headers the first Gatehouse sends; it is measured first, so it gets a key-shaped header.
    const url = `${ready.url}${path}`;
    console.error(`${t.label}: ready after ${((Date.now() - started) / 1000).toFixed(0)} s; warming up`);
    const sent = t.label === 'bare undici proxy' ? { authorization: 'Bearer gk_live_benchmark_placeholder_key' } : headers;
    // Start-up work that is still under way (the control plane's parts, store threads) ends before counting.
    await sleep(Number(args.settle) * 1000);
    await autocannon(url, sent, Number(args.warmup));
    execFileSync('callgrind_control', ['-i', 'on', String(proc.pid)]);
    const t0 = performance.now();
    await autocannon(url, sent, REQUESTS);
    const loadedMs = performance.now() - t0;
    execFileSync('callgrind_control', ['-i', 'off', String(proc.pid)]);
    const loaded = instructions(proc.pid!, t.label, 1);
    // Timer-driven background work (periodic tasks) runs per second, and valgrind stretches the seconds
    // 30-100×: the same length of idle time, counted, is taken off, so only work per request remains.
    execFileSync('callgrind_control', ['-i', 'on', String(proc.pid)]);
    await sleep(loadedMs);
    execFileSync('callgrind_control', ['-i', 'off', String(proc.pid)]);
    const idle = instructions(proc.pid!, t.label, 2);
    const { top } = loaded;
    bareHeaders ??= headers;
    const perRequest = (loaded.total - idle.total) / REQUESTS;
    rows.push(
      `| ${t.label} | ${Math.round(perRequest).toLocaleString('en')} | ${Math.round(loaded.total / REQUESTS).toLocaleString('en')} | ${Math.round(idle.total / REQUESTS).toLocaleString('en')} |`,
    );
    console.error(
      `${t.label}: ${Math.round(perRequest)} instructions per request (loaded ${Math.round(loaded.total / REQUESTS)}, idle ${Math.round(idle.total / REQUESTS)}; ${(loadedMs / 1000).toFixed(0)} s)`,
    );
    for (const line of top) console.error(line);
    await stopChild(proc);
  }
  console.log(`Instructions per request (callgrind, ${REQUESTS} requests after ${args.warmup} of warm-up, autocannon -c${args.connections})\n`);
  console.log('| target | instructions per request | counted under load, per request | idle for as long, per request |\n| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
  await stopChild(upstreamProc);
} catch (error) {
  console.error(error instanceof BenchFailure ? `BENCHMARK FAILED: ${error.message}` : error);
  killAll();
  process.exitCode = 1;
}
