/**
 * Summarises a V8 .cpuprofile (from `node bench/gateway.ts --profile`, or any `node --cpu-prof`):
 * top functions by self time, self time by source file, and inclusive time of Gatehouse's own
 * functions (src/), so what a request costs can be read per stage.
 *
 *   node bench/profile-top.ts [profile.cpuprofile] [--top 40] [--baseline other.cpuprofile]
 * Without an argument, bench/results/profiles/gatehouse.cpuprofile. When a .json with { requests } sits
 * beside the profile (bench/gateway.ts --profile writes one), times are also shown per request, and
 * --baseline (e.g. bench/results/profiles/bare.cpuprofile) lists where the two differ most per request.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, baseline: { type: 'string' } } });
const TOP = Number(values.top);

const file = positionals[0] ?? join(here, 'results', 'profiles', 'gatehouse.cpuprofile');

const shortUrl = (url: string): string => {
  if (!url) return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  return path.startsWith(root) ? relative(root, path) : path;
};
const label = (f: CallFrame): string => `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;

interface Summary {
  file: string;
  requests: number | null;
  total: number;
  busy: number;
  selfByFunction: Map<string, number>;
  selfByFile: Map<string, number>;
  inclusiveSrc: Map<string, number>;
}

function summarise(file: string): Summary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const sidecar = file.replace(/\.cpuprofile$/, '.json');
  const requests = existsSync(sidecar) ? (JSON.parse(readFileSync(sidecar, 'utf8')) as { requests: number }).requests : null;

  // Self time per node: each sample's delta goes to the node sampled.
  const selfByNode = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const total = [...selfByNode.values()].reduce((a, b) => a + b, 0);
  const idle = profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((a, n) => a + (selfByNode.get(n.id) ?? 0), 0);

  const selfByFunction = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  const inclusiveSrc = new Map<string, number>();
  for (const [id, micros] of selfByNode) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    const key = label(node.callFrame);
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + micros);
    const fileKey = shortUrl(node.callFrame.url) || node.callFrame.functionName;
    selfByFile.set(fileKey, (selfByFile.get(fileKey) ?? 0) + micros);
    // Inclusive: charge every distinct src/ function on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      const rel = shortUrl(frame.url);
      if (!rel.startsWith('src/')) continue;
      const k = label(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusiveSrc.set(k, (inclusiveSrc.get(k) ?? 0) + micros);
    }
  }
  return { file, requests, total, busy: total - idle, selfByFunction, selfByFile, inclusiveSrc };
}

const { requests, total, busy, selfByFunction, selfByFile, inclusiveSrc } = summarise(file);

const pct = (micros: number) => `${((100 * micros) / busy).toFixed(1).padStart(5)} %`;
const ms = (micros: number) => (requests ? `${(micros / requests).toFixed(2).padStart(7)} µs/req` : `${(micros / 1000).toFixed(0).padStart(7)} ms`);
const print = (title: string, map: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${ms(v)} ${pct(v)}  ${k}`);
};

console.log(
  `${relative(process.cwd(), file)}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s not idle (percentages are of that)` +
    (requests ? `, ${requests} requests: ${(busy / requests).toFixed(1)} µs/req on the main thread` : ''),
);
print(`Top ${TOP} functions by self time`, selfByFunction, TOP);
print('Self time by file', selfByFile, 25);
print('Inclusive time of Gatehouse functions (src/)', inclusiveSrc, 30);

if (values.baseline) {
  const base = summarise(values.baseline);
  if (!requests || !base.requests) throw new Error('--baseline needs the .json sidecars (requests served) of both profiles');
  const perReq = (micros: number, n: number) => micros / n;
  const diff = (a: Map<string, number>, b: Map<string, number>) => {
    const out = new Map<string, number>();
    for (const k of new Set([...a.keys(), ...b.keys()])) out.set(k, perReq(a.get(k) ?? 0, requests) - perReq(b.get(k) ?? 0, base.requests!));
    return out;
  };
  const show = (title: string, map: Map<string, number>, n: number) => {
    console.log(`\n${title}`);
    for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${(v >= 0 ? '+' : '') + v.toFixed(2).padStart(6)} µs/req  ${k}`);
  };
  console.log(
    `\nAgainst ${relative(process.cwd(), values.baseline)}: ${(base.busy / base.requests).toFixed(1)} µs/req on the main thread there, ` +
      `${(busy / requests - base.busy / base.requests).toFixed(1)} µs/req more here`,
  );
  show(`Largest increases per request, by function (self time)`, diff(selfByFunction, base.selfByFunction), TOP);
  show('Largest increases per request, by file (self time)', diff(selfByFile, base.selfByFile), 25);
}
