/**
 * Gatehouse variants for the side-by-side benchmarks (bench/cost-ab.ts, bench/perf-profile.ts), each a
 * bench/gatehouse-child.ts, given as `label|scenario|mode|config|tree|node flags`: scenario as in
 * bench/seed.ts (public, apiKey, bearer...), mode `on`, `metrics-off` or `observability-off`, config a JSON
 * object over the defaults (as the YAML file would hold it), tree another checkout whose child runs instead
 * (`git archive <commit> | tar -x -C /tmp/old`, with node_modules linked; empty: this one), node flags for
 * that Gatehouse alone (`--max-semi-space-size=32`), and how many keys an apiKey variant takes in turn (over
 * the bench's `--keys`), so one run compares one key with many.
 */
import { forkOn, GATEHOUSE_ENV, GATEHOUSE_NODE_FLAGS, nextMessage, type Child } from './children.ts';
import { BenchFailure, loadOf, type Load } from './load.ts';
import type { Pinning } from './pinning.ts';

export interface Variant {
  label: string;
  child: Child;
  /** Where the load goes: the variant's gateway and the scenario's path. */
  url: string;
  /** The header sets the load takes in turn (one per key with `keys` > 1). */
  load: Load;
}

interface Ready {
  url: string;
  path: string;
  headers?: Record<string, string>;
  hotSecretsFile?: string | null;
  headerSets?: Load;
  /** Older trees' children send the key alone. */
  secret?: string;
}

/** Starts one variant on `pin.targetCpus`, its upstream at `upstreamUrl`; `keys`: how many keys an apiKey variant takes in turn. */
export async function startVariant(pin: Pinning, spec: string, upstreamUrl: string, keys = 1): Promise<Variant> {
  const [label, scenario = 'apiKey', mode = 'on', config = '{}', tree = '', flags = '', ownKeys = ''] = spec.split('|');
  if (!label) throw new BenchFailure(`a variant is label|scenario|mode|config|tree|node flags|keys, not ${spec}`);
  const taken = ownKeys === '' ? keys : Number(ownKeys);
  if (!(Number.isInteger(taken) && taken >= 1)) throw new BenchFailure(`a variant's keys are a whole number from 1, not ${ownKeys}`);
  const argv = [upstreamUrl, scenario, mode, scenario === 'apiKey' ? String(taken) : '1', config];
  const proc = forkOn(pin, pin.targetCpus, 'gatehouse-child.ts', argv, {
    tree: tree || undefined,
    flags: [...GATEHOUSE_NODE_FLAGS, ...flags.split(' ').filter(Boolean)],
    env: GATEHOUSE_ENV,
  });
  // Ten minutes: a Gatehouse seeded with a million keys takes a few.
  const ready = await nextMessage<Ready>(proc, 'ready', 600_000);
  const headers = ready.headers ?? { authorization: `Bearer ${ready.secret ?? ''}` };
  const load = loadOf({ ...ready, headers });
  return { label, child: { name: label, proc, url: ready.url }, url: `${ready.url}${ready.path}`, load };
}
