/**
 * How long the `gatehouse` command takes to start, for `help` and for a command that only calls the
 * admin API (`keys list` against an address where nothing listens, so no server time is counted).
 *
 *   node bench/cli-startup.ts [--runs 10]
 *
 * Runs each case --runs times, one after another, and prints the median and the fastest wall time
 * (process.hrtime from spawn to exit). Uses hyperfine instead when it is on PATH. Cases: the pinned
 * Node running src/cli/main.ts; bin/gatehouse.js on the pinned Node (in-process); bin/gatehouse.js
 * on the system Node when it is older than 22.18 (it re-runs the CLI on the pinned Node).
 * Target: under 200 ms for `help` and for admin-API commands on the pinned Node.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PINNED = join(ROOT, 'node_modules', '.bin', 'node');
const BIN = join(ROOT, 'bin', 'gatehouse.js');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const runs = Number(parseArgs({ options: { runs: { type: 'string', default: '10' } } }).values.runs);
const userPath = (process.env.PATH ?? '')
  .split(':')
  .filter((p) => !p.includes('node_modules/.bin'))
  .join(':');
const env = { ...process.env, PATH: userPath, GATEHOUSE_URL: 'http://127.0.0.1:1', GATEHOUSE_ADMIN_KEY: `gka_live_${'A'.repeat(30)}` };

const which = (cmd: string): string[] => {
  const out = spawnSync('sh', ['-c', `which -a ${cmd}`], { encoding: 'utf8', env: { PATH: userPath } });
  return out.stdout.split('\n').filter(Boolean);
};
const systemNode = which('node').find((node) => {
  const [major, minor] = execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number);
  return major! < 22 || (major === 22 && minor! < 18);
});

const cases: { name: string; argv: string[] }[] = [];
for (const args of [['help'], ['keys', 'list']]) {
  cases.push({ name: `pinned node main.ts ${args.join(' ')}`, argv: [PINNED, MAIN, ...args] });
  cases.push({ name: `bin/gatehouse.js on pinned node ${args.join(' ')}`, argv: [PINNED, BIN, ...args] });
  if (systemNode) cases.push({ name: `bin/gatehouse.js on ${systemNode} ${args.join(' ')}`, argv: [systemNode, BIN, ...args] });
}
cases.push({ name: 'pinned node -e 0 (Node start alone)', argv: [PINNED, '-e', '0'] });

if (which('hyperfine').length > 0) {
  const commands = cases.map((c) => c.argv.map((a) => `'${a}'`).join(' '));
  spawnSync('hyperfine', ['--warmup', '2', '--runs', String(runs), '-i', ...commands], { stdio: 'inherit', env });
} else {
  console.log(`| case | median ms | fastest ms | (${runs} runs each) |\n|---|---|---|---|`);
  for (const c of cases) {
    spawnSync(c.argv[0]!, c.argv.slice(1), { env }); // warm the file cache
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = process.hrtime.bigint();
      spawnSync(c.argv[0]!, c.argv.slice(1), { env, stdio: 'ignore' });
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(`| ${c.name} | ${times[Math.floor(times.length / 2)]!.toFixed(0)} | ${times[0]!.toFixed(0)} | |`);
  }
}
