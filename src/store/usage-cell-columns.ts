import { LATENCY_BUCKETS } from '../domain/latency-histogram.ts';
import { numbers } from './usage-batch-columns.ts';
import type { StatusClass, UsageCell } from './port.ts';

/**
 * Usage analytics' cells as they cross between threads (a gateway worker to the main thread, the main
 * thread to the store thread), as usage batches do (usage-batch-columns.ts): an array per field, the
 * latency histograms one after another in one Float64Array. 10,000 cells as objects took 9–11 ms to
 * serialize and 13–30 ms to read; as columns 7–9 ms to build and serialize, 3–8 ms to read back into
 * cells (docs/benchmarks.md, "eighteenth look").
 */
export interface UsageCellColumns {
  minute: Float64Array;
  apiId: (string | null)[];
  route: (string | null)[];
  keyId: (string | null)[];
  appId: (string | null)[];
  statusClass: StatusClass[];
  denialCode: (string | null)[];
  requests: Float64Array;
  bytesIn: Float64Array;
  bytesOut: Float64Array;
  durationUs: Float64Array;
  /** LATENCY_BUCKETS counts per cell. */
  latency: Float64Array;
}

export function toCellColumns(cells: readonly UsageCell[]): UsageCellColumns {
  const latency = new Float64Array(cells.length * LATENCY_BUCKETS);
  for (let i = 0; i < cells.length; i++) {
    const histogram = cells[i]!.latency;
    if (histogram.length !== LATENCY_BUCKETS) throw new Error(`a usage cell's latency histogram has ${histogram.length} buckets, not ${LATENCY_BUCKETS}`);
    latency.set(histogram, i * LATENCY_BUCKETS);
  }
  return {
    minute: numbers(cells, (c) => c.minute),
    apiId: cells.map((c) => c.apiId),
    route: cells.map((c) => c.route),
    keyId: cells.map((c) => c.keyId),
    appId: cells.map((c) => c.appId),
    statusClass: cells.map((c) => c.statusClass),
    denialCode: cells.map((c) => c.denialCode),
    requests: numbers(cells, (c) => c.requests),
    bytesIn: numbers(cells, (c) => c.bytesIn),
    bytesOut: numbers(cells, (c) => c.bytesOut),
    durationUs: numbers(cells, (c) => c.durationUs),
    latency,
  };
}

export function fromCellColumns(c: UsageCellColumns): UsageCell[] {
  const cells: UsageCell[] = [];
  for (let i = 0; i < c.minute.length; i++) {
    const latency: number[] = [];
    for (let b = i * LATENCY_BUCKETS; b < (i + 1) * LATENCY_BUCKETS; b++) latency.push(c.latency[b]!);
    cells.push({
      minute: c.minute[i]!,
      apiId: c.apiId[i]!,
      route: c.route[i]!,
      keyId: c.keyId[i]!,
      appId: c.appId[i]!,
      statusClass: c.statusClass[i]!,
      denialCode: c.denialCode[i]!,
      requests: c.requests[i]!,
      bytesIn: c.bytesIn[i]!,
      bytesOut: c.bytesOut[i]!,
      durationUs: c.durationUs[i]!,
      latency,
    });
  }
  return cells;
}
