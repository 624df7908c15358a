/**
 * What bench/survivors.ts and bench/long-tasks.ts share: the options naming a seeded Gatehouse
 * (bench/gatehouse-child.ts, in front of bench/upstream-child.ts) and starting the two, pinned.
 */
import { startChild, type Child } from './children.ts';
import { loadOf, type Load, type ReadyLoad } from './load.ts';
import type { Pinning } from './pinning.ts';

export const SEEDED_GATEHOUSE_OPTIONS = {
  keys: { type: 'string', default: '10000' },
  seconds: { type: 'string', default: '5' },
  scenario: { type: 'string', default: 'apiKey' },
  mode: { type: 'string', default: 'on' },
  config: { type: 'string', default: '{}' },
  top: { type: 'string', default: '15' },
} as const;

export interface SeededGatehouse {
  upstream: Child;
  gatehouse: Child & { path: string };
  /** The header sets to send, one request each in turn. */
  load: Load;
}

export async function startSeededGatehouse(pin: Pinning, options: { keys: string; scenario: string; mode: string; config: string }): Promise<SeededGatehouse> {
  const upstream = await startChild(pin, 'upstream', 'upstream-child.ts', [], pin.loadCpus);
  const gatehouse = await startChild<{ url: string; path: string } & ReadyLoad>(
    pin,
    'gatehouse',
    'gatehouse-child.ts',
    [upstream.url, options.scenario, options.mode, options.keys, options.config],
    pin.targetCpus,
  );
  return { upstream, gatehouse, load: loadOf(gatehouse) };
}
