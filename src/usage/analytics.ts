import { addHistogram, bucketOf, emptyHistogram } from '../domain/latency-histogram.ts';
import type { RequestObserver } from '../gateway/observer.ts';
import type { StatusClass, UsageAnalyticsRepo, UsageCell, UsageGranularity } from '../store/port.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import { PeriodicTask, serialized } from '../telemetry/periodic-task.ts';

/** Health components: the flush (a warning when one fails or cells are dropped) and retention. */
export const USAGE_ANALYTICS = 'usage-analytics';
export const USAGE_ANALYTICS_RETENTION = 'usage-analytics-retention';

/** Where cells go: the writer thread (writer/), or the store itself when there is no file to share. */
export type UsageAnalyticsSink = Pick<UsageAnalyticsRepo, 'add' | 'deleteBefore'>;

/** How long each rollup is kept (config `analytics`). */
export interface UsageRetention {
  minuteRetentionHours: number;
  hourRetentionDays: number;
  dayRetentionDays: number;
}

export interface UsageAnalyticsOptions {
  sink: UsageAnalyticsSink;
  health: HealthReporter;
  flushIntervalMs: number;
  retention: UsageRetention;
  /** Cells held at most (a cell: one minute and one combination of dimensions); past it, requests are dropped and counted. */
  maxCells: number;
  clock: () => number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/**
 * Cells per message to the writer (one transaction each, three upserts per cell): cloning one costs the
 * event loop about 1-2 µs (bench/hot-path.ts), so a part holds it under a millisecond.
 */
const PART = 500;
/** Rows deleted per transaction, so retention never holds the write lock for long. */
const PRUNE_PART = 10_000;
const RETENTION_INTERVAL_MS = 3_600_000;

const STATUS_CLASSES: readonly StatusClass[] = ['0', '1xx', '2xx', '3xx', '4xx', '5xx'];
/** 0 for no answer, else the hundreds digit (statuses 100..599). */
const classIndex = (status: number): number => (status <= 0 ? 0 : Math.min(5, Math.max(1, Math.floor(status / 100))));

/** minute -> API id -> route -> key id -> app id -> denial code -> cells by status class; '' stands for none. */
type ByClass = (UsageCell | undefined)[];
type Level<T> = Map<string, T>;
type ByApi = Level<Level<Level<Level<Level<ByClass>>>>>;

// Typed to fit any level: an empty Map holds no value of any type.
const newMap = (): Map<string, never> => new Map<string, never>();
const newClasses = (): ByClass => [undefined, undefined, undefined, undefined, undefined, undefined];

function slot<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}

/**
 * Usage analytics' counters. The gateway's observer finds the request's cell by walking small Maps
 * keyed by values the record already holds (no key string is built, nothing is allocated but a new
 * cell) and makes five additions: four sums and its latency bucket's count. Every `flushIntervalMs` the cells counted into since the last flush go to
 * the writer thread, which adds them into the minute, hour and day rollups; a part that fails is put
 * back, with the parts after it, for the next flush, and readiness reports a warning. `stop()`
 * flushes. Retention deletes each rollup's old buckets every hour, a bounded part at a time.
 */
export class UsageAnalytics {
  readonly #sink: UsageAnalyticsSink;
  readonly #retention: UsageRetention;
  readonly #maxCells: number;
  readonly #clock: () => number;
  #minutes = new Map<number, ByApi>();
  /** The tree of the minute last counted: most requests fall in it, so the minute's lookup is skipped. */
  #currentMinute = Number.NaN;
  #current: ByApi | null = null;
  /**
   * Every cell in the trees, in the order made. A flush sends copies of those with counts and zeroes
   * them; the current minute's tree and cells stay for the next flush (see #flushOnce).
   */
  #cells: UsageCell[] = [];
  /** Cells with counts not yet taken by a flush. */
  #unwritten = 0;
  /** Cells taken by the flush under way and not yet written: they count against `maxCells`. */
  #inFlight = 0;
  #dropped = 0;
  #droppedReported = 0;
  readonly #rounds: PeriodicTask;
  readonly #retentionRounds: PeriodicTask;

  constructor(options: UsageAnalyticsOptions) {
    if (!Number.isInteger(options.maxCells) || options.maxCells < 1) throw new Error('maxCells must be a positive integer');
    this.#sink = options.sink;
    this.#retention = options.retention;
    this.#maxCells = options.maxCells;
    this.#clock = options.clock;
    const { health } = options;
    this.#rounds = new PeriodicTask({ component: USAGE_ANALYTICS, critical: false, health, intervalMs: options.flushIntervalMs, run: () => this.#round() });
    this.#retentionRounds = new PeriodicTask({
      component: USAGE_ANALYTICS_RETENTION,
      critical: false,
      health,
      intervalMs: RETENTION_INTERVAL_MS,
      atStart: true,
      run: () => this.prune(),
    });
  }

  /** The gateway's observer: never waits, never throws. */
  readonly observe: RequestObserver = (r) => {
    const cell = this.#cellFor(r.startedAt - (r.startedAt % MINUTE_MS), r.apiId, r.route, r.keyId, r.appId, r.denialCode, classIndex(r.status));
    if (cell === null) {
      this.#dropped++;
      return;
    }
    if (cell.requests === 0) this.#unwritten++;
    cell.requests += 1;
    cell.bytesIn += r.bytesIn;
    cell.bytesOut += r.bytesOut;
    // Whole microseconds: integer sums, so the hour and day rows are exactly the sums of their minutes.
    cell.durationUs += Math.round(r.durationMs * 1000);
    cell.latency[bucketOf(r.durationMs)]! += 1;
  };

  /** Requests not counted since start because `maxCells` cells were held (the store was not keeping up). */
  dropped(): number {
    return this.#dropped;
  }

  /** Cells with counts not yet written. */
  pending(): number {
    return this.#unwritten + this.#inFlight;
  }

  /** Flushes on the interval, and cuts old buckets now and every hour after; both report to health. */
  start(): void {
    this.#rounds.start();
    this.#retentionRounds.start();
  }

  /** Stops the background rounds (waiting for those under way) and writes every cell held; rejects if the store refuses the last of them. */
  async stop(): Promise<void> {
    await Promise.all([this.#rounds.stop(), this.#retentionRounds.stop()]);
    await this.flush();
  }

  /** Writes every cell held now. Serialised: a flush waits for the one before it; after a failed one (reported to its own caller) the next still runs. */
  readonly flush = serialized(() => this.#flushOnce());

  /** Deletes each rollup's buckets older than its retention, a part at a time; returns how many rows. */
  async prune(): Promise<number> {
    const now = this.#clock();
    const cutoffs: [UsageGranularity, number, number][] = [
      ['minute', now - this.#retention.minuteRetentionHours * HOUR_MS, MINUTE_MS],
      ['hour', now - this.#retention.hourRetentionDays * DAY_MS, HOUR_MS],
      ['day', now - this.#retention.dayRetentionDays * DAY_MS, DAY_MS],
    ];
    let deleted = 0;
    for (const [granularity, cutoff, width] of cutoffs) {
      // Only buckets wholly before the cutoff: every rollup keeps at least its retention.
      const before = cutoff - (cutoff % width);
      for (;;) {
        const n = await this.#sink.deleteBefore(granularity, before, PRUNE_PART);
        deleted += n;
        if (n < PRUNE_PART) break;
      }
    }
    return deleted;
  }

  /** The cell of one minute and combination, made (zeroed) the first time; null when `maxCells` are held. */
  #cellFor(minute: number, apiId: string | null, route: string | null, keyId: string | null, appId: string | null, denial: string | null, c: number) {
    let byApi = this.#current;
    if (minute !== this.#currentMinute || byApi === null) {
      byApi = slot<number, ByApi>(this.#minutes, minute, newMap);
      this.#current = byApi;
      this.#currentMinute = minute;
    }
    const byClass = slot(
      slot(slot(slot(slot(byApi, apiId ?? '', newMap), route ?? '', newMap), keyId ?? '', newMap), appId ?? '', newMap),
      denial ?? '',
      newClasses,
    );
    let cell = byClass[c];
    if (cell === undefined) {
      if (this.#cells.length + this.#inFlight >= this.#maxCells) return null;
      // The histogram is allocated with the cell, once per minute and combination, never per request.
      const latency = emptyHistogram();
      cell = {
        minute,
        apiId,
        route,
        keyId,
        appId,
        statusClass: STATUS_CLASSES[c]!,
        denialCode: denial,
        requests: 0,
        bytesIn: 0,
        bytesOut: 0,
        durationUs: 0,
        latency,
      };
      byClass[c] = cell;
      this.#cells.push(cell);
    }
    return cell;
  }

  /** One background round: a flush, then a failure (a readiness warning) if requests were dropped since the last round. */
  async #round(): Promise<void> {
    await this.flush();
    const dropped = this.#dropped - this.#droppedReported;
    this.#droppedReported = this.#dropped;
    if (dropped > 0)
      throw new Error(`${dropped} requests not counted: ${this.#maxCells} usage cells were waiting (analytics.maxCells); the store is not keeping up`);
  }

  /**
   * Sends copies of the cells with counts and zeroes them. The current minute's tree and its cells
   * stay, to be counted into again: with thousands of keys, making them anew every flush would make
   * thousands of objects that live until the next, long enough to be moved to the old generation, and
   * the scavenges that move them hold the event loop (issue 14). Other minutes' trees go, and so does
   * the current one when its cells fill more than half of `maxCells` (the bound stays the bound).
   */
  async #flushOnce(): Promise<void> {
    if (this.#unwritten === 0) return;
    const cells: UsageCell[] = [];
    for (const cell of this.#cells) {
      if (cell.requests === 0) continue;
      cells.push({ ...cell, latency: cell.latency.slice() });
      cell.requests = cell.bytesIn = cell.bytesOut = cell.durationUs = 0;
      cell.latency.fill(0);
    }
    this.#unwritten = 0;
    const keep = this.#cells.length <= this.#maxCells / 2 ? this.#current : null;
    if (keep === null) {
      this.#cells = [];
      this.#minutes = new Map();
      this.#current = null;
      this.#currentMinute = Number.NaN;
    } else if (this.#minutes.size > 1) {
      this.#minutes = new Map([[this.#currentMinute, keep]]);
      this.#cells = this.#cells.filter((cell) => cell.minute === this.#currentMinute);
    }
    this.#inFlight = cells.length;
    for (let i = 0; i < cells.length; i += PART) {
      const part = cells.slice(i, i + PART);
      try {
        await this.#sink.add(part);
      } catch (error) {
        // Put back, added to what was counted since: the counts are deltas, so nothing is lost or doubled.
        this.#inFlight = 0;
        for (const c of cells.slice(i)) this.#putBack(c);
        throw error;
      }
      this.#inFlight -= part.length;
    }
  }

  #putBack(c: UsageCell): void {
    const cell = this.#cellFor(c.minute, c.apiId, c.route, c.keyId, c.appId, c.denialCode, STATUS_CLASSES.indexOf(c.statusClass));
    if (cell === null) {
      this.#dropped += c.requests;
      return;
    }
    if (cell.requests === 0) this.#unwritten++;
    cell.requests += c.requests;
    cell.bytesIn += c.bytesIn;
    cell.bytesOut += c.bytesOut;
    cell.durationUs += c.durationUs;
    addHistogram(cell.latency, c.latency);
  }
}
