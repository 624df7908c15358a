/**
 * `gatehouse scan` on a repository with a long history (issue 11): builds one in a temporary
 * directory with `git fast-import` (N commits over a tree of F files, each commit changing a few
 * files; keys planted in old commits and removed later), then times the real CLI (a child process,
 * start-up included) scanning its whole history, and `--staged` with one staged change.
 *
 *   node bench/scan-repo.ts [--commits 3000] [--files 400] [--runs 3] [--keep]
 *
 * No admin key is set, so nothing is looked up: the figures are the scan's own cost.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateKey } from '../src/domain/key-format.ts';
import { median } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    commits: { type: 'string', default: '3000' },
    files: { type: 'string', default: '400' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
});
const COMMITS = Number(args.commits);
const FILES = Number(args.files);
const RUNS = Number(args.runs);
const ROOT = new URL('..', import.meta.url).pathname;
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

/** Deterministic text, so runs compare: a small LCG. */
let seed = 42;
const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau'.split(' ');
const line = () => Array.from({ length: 8 + rand(8) }, () => WORDS[rand(WORDS.length)]).join(' ');

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-scan-bench-'));
execFileSync('git', ['init', '-q', '-b', 'main', dir]);

// Keys planted in old commits, each removed some commits later: found only in the history.
const planted = new Map<number, { path: string; secret: string; removeAt: number }>();
for (const at of [Math.floor(COMMITS * 0.05), Math.floor(COMMITS * 0.3), Math.floor(COMMITS * 0.6)]) {
  planted.set(at, { path: `src/config/file${at % FILES}.txt`, secret: generateKey('api', 'live').secret, removeAt: at + 50 });
}

/** The tree: each file's lines, changed a few at a time. */
const contents: string[][] = Array.from({ length: FILES }, () => Array.from({ length: 30 + rand(40) }, line));
const pathOf = (i: number) => `src/${['config', 'lib', 'app', 'test'][i % 4]}/file${i}.txt`;

const started = performance.now();
const importer = spawn('git', ['fast-import', '--quiet'], { cwd: dir, stdio: ['pipe', 'inherit', 'inherit'] });
// A failed import ends with a non-zero exit, reported below; the broken pipe is only its symptom.
let importError: Error | null = null;
importer.stdin.on('error', (error) => (importError = error));
const write = (text: string) => new Promise<void>((resolve) => (importer.stdin.write(text) ? resolve() : importer.stdin.once('drain', resolve)));
const blob = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
let when = 1_700_000_000;
for (let c = 1; c <= COMMITS; c++) {
  const changed = new Set<number>(c === 1 ? contents.map((_, i) => i) : Array.from({ length: 1 + rand(3) }, () => rand(FILES)));
  const plant = planted.get(c);
  const removal = [...planted.values()].find((p) => p.removeAt === c);
  const ops: string[] = [];
  for (const i of changed) {
    const lines = contents[i]!;
    lines.splice(rand(lines.length), 0, line());
    ops.push(`M 100644 inline ${pathOf(i)}\n${blob(`${lines.join('\n')}\n`)}`);
  }
  if (plant) ops.push(`M 100644 inline ${plant.path}\n${blob(`# settings\nregion = eu\napi_key = ${plant.secret}\n`)}`);
  if (removal) ops.push(`M 100644 inline ${removal.path}\n${blob('# settings\nregion = eu\napi_key = ${API_KEY}\n')}`);
  const message = `commit ${c}\n`;
  await write(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${(when += 600)} +0000\ndata ${message.length}\n${message}${ops.join('')}\n`);
}
importer.stdin.end();
await new Promise<void>((resolve, reject) =>
  importer.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`fast-import exit ${code}${importError ? ` (${importError.message})` : ''}`)))),
);
execFileSync('git', ['checkout', '-q', '-f', 'main'], { cwd: dir });
const buildSeconds = (performance.now() - started) / 1000;
const count = (args: string[]) => execFileSync('git', args, { cwd: dir }).toString().trim();
const blobs = count(['rev-list', '--all', '--objects', '--filter=object:type=blob', '--filter-provided-objects', '--no-object-names']).split('\n').length;
const size = count(['count-objects', '-vH']).match(/size-pack: (.*)/)?.[1] ?? '?';
console.log(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${availableParallelism()} CPUs`,
);
console.log(
  `repository: ${COMMITS} commits, ${FILES} files, ${blobs} distinct blobs (pack ${size}), built in ${buildSeconds.toFixed(1)} s; ${planted.size} keys planted in old commits and removed later`,
);

/**
 * One run of the CLI: wall time, and (through /usr/bin/time, which counts the git children too) CPU
 * time, the steadier figure on a shared machine; exit code and findings.
 */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
function time(cliArgs: string[]): { ms: number; cpuMs: number | null; code: number | null; findings: number } {
  const command = [NODE, MAIN, 'scan', ...cliArgs];
  const t0 = performance.now();
  const run = spawnSync(TIME ?? command[0]!, TIME ? ['-f', 'cpu %U %S', ...command] : command.slice(1), {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir() },
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(run.stderr.toString());
  let findings = 0;
  if (!cliArgs.includes('--help')) {
    try {
      findings = (JSON.parse(run.stdout.toString()) as { findings: unknown[] }).findings.length;
    } catch {
      throw new Error(`scan did not answer JSON (exit ${run.status}): ${run.stderr.toString()}`);
    }
  }
  return { ms, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : null, code: run.status, findings };
}

const report = (label: string, cliArgs: string[]) => {
  const runs = Array.from({ length: RUNS }, () => time(cliArgs));
  const ms = runs.map((r) => r.ms);
  const cpu = runs.map((r) => r.cpuMs).filter((c): c is number => c !== null);
  console.log(
    `${label.padEnd(34)} wall median ${median(ms).toFixed(0)} ms (runs: ${ms.map((m) => m.toFixed(0)).join(', ')})` +
      `${cpu.length ? `, CPU (user+sys, git included) median ${median(cpu).toFixed(0)} ms` : ''}, exit ${runs[0]!.code}, ${runs[0]!.findings} findings`,
  );
};

report('scan --help (start-up only)', ['--help']);
report('scan . (files + whole history)', ['.', '--format', 'json']);
report('scan . --no-history (files only)', ['.', '--no-history', '--format', 'json']);
writeFileSync(join(dir, 'src', 'lib', 'new.txt'), `token = ${generateKey('api', 'test').secret}\n`);
execFileSync('git', ['add', 'src/lib/new.txt'], { cwd: dir });
report('scan --staged (one staged file)', ['--staged', '--format', 'json']);

if (args.keep) console.log(`kept: ${dir}`);
else rmSync(dir, { recursive: true, force: true });
