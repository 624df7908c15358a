/**
 * What one heap snapshot holds that another does not, by kind of object (V8's node type and name:
 * `object Foo`, `string`, `array (object elements)`...): count and self size, largest first. With
 * `--per N`, also per N (e.g. per key, for bench/per-key-memory.ts --snapshots). With `--retainers`,
 * each kind is told apart by what holds it (the first retaining edge: `object Foo.field`), which
 * says which structure a kind of object belongs to.
 *
 *   node bench/heap-diff.ts before.heapsnapshot after.heapsnapshot [--per 5000] [--top 25] [--retainers]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '25' }, retainers: { type: 'boolean', default: false } },
});
if (positionals.length !== 2) throw new Error('usage: heap-diff.ts before.heapsnapshot after.heapsnapshot [--per N] [--top 25]');

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Each node's first retainer, as `kind.edge` (by node index; '' for none). */
function firstRetainers(snap: Snapshot, kindOf: (node: number) => string): string[] {
  const {
    node_fields: fields,
    edge_fields: edgeFields,
    edge_types: [edgeTypes],
  } = snap.snapshot.meta;
  const [countAt, edgeTypeAt, edgeNameAt, toAt] = [
    fields.indexOf('edge_count'),
    edgeFields.indexOf('type'),
    edgeFields.indexOf('name_or_index'),
    edgeFields.indexOf('to_node'),
  ];
  const out: string[] = new Array<string>(snap.nodes.length / fields.length).fill('');
  let edge = 0;
  for (let node = 0; node < snap.nodes.length; node += fields.length) {
    const count = snap.nodes[node + countAt]!;
    for (let e = 0; e < count; e++, edge += edgeFields.length) {
      const to = snap.edges[edge + toAt]! / fields.length;
      if (out[to] !== '') continue;
      const type = edgeTypes[snap.edges[edge + edgeTypeAt]!]!;
      if (type === 'weak') continue;
      const name = type === 'element' || type === 'hidden' ? `[${type}]` : snap.strings[snap.edges[edge + edgeNameAt]!]!;
      out[to] = `${kindOf(node)}.${name}`;
    }
  }
  return out;
}

/** Count and self size by "type name" (strings by type alone: their names are their contents). */
function kinds(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const kindOf = (i: number): string => {
    const type = types[snap.nodes[i + typeAt]!]!;
    return type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number'
      ? type
      : `${type} ${snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 60)}`;
  };
  const retainers = args.retainers ? firstRetainers(snap, kindOf) : null;
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const kind = retainers === null ? kindOf(i) : `${kindOf(i)}  <-  ${retainers[i / fields.length]}`;
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
  console.log(`${(r.size / per).toFixed(1).padStart(9)} B  ${(r.count / per).toFixed(2).padStart(7)} ×  ${r.kind.slice(0, 160)}`);
