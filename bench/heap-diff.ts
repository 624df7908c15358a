/**
 * What one heap snapshot holds that another does not, by kind of object (V8's node type and name:
 * `object Foo`, `string`, `array (object elements)`...): count and self size, largest first. With
 * `--per N`, also per N (e.g. per key, for bench/per-key-memory.ts --snapshots).
 *
 *   node bench/heap-diff.ts before.heapsnapshot after.heapsnapshot [--per 5000] [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '25' } },
});
if (positionals.length !== 2) throw new Error('usage: heap-diff.ts before.heapsnapshot after.heapsnapshot [--per N] [--top 25]');

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and self size by "type name" (strings by type alone: their names are their contents). */
function kinds(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const kind =
      type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number'
        ? type
        : `${type} ${snap.strings[snap.nodes[i + nameAt]!]}`;
    const entry = out.get(kind) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += snap.nodes[i + sizeAt]!;
    out.set(kind, entry);
  }
  return out;
}

const [a, b] = [kinds(positionals[0]!), kinds(positionals[1]!)];
const per = Number(args.per);
const rows = [...b].map(([kind, { count, size }]) => ({ kind, count: count - (a.get(kind)?.count ?? 0), size: size - (a.get(kind)?.size ?? 0) }));
rows.sort((x, y) => y.size - x.size);
const total = rows.reduce((sum, r) => sum + r.size, 0);
console.log(`self size added: ${total} bytes${per > 1 ? `, ${(total / per).toFixed(0)} per unit (of ${per})` : ''}`);
for (const r of rows.slice(0, Number(args.top)))
  console.log(`${(r.size / per).toFixed(1).padStart(9)} B  ${(r.count / per).toFixed(2).padStart(7)} ×  ${r.kind.slice(0, 100)}`);
