import { addHistogram, bucketOf, emptyHistogram } from '../domain/latency-histogram.ts';
import type { RequestObserver } from '../gateway/observer.ts';
import type { StatusClass, UsageAnalyticsRepo, UsageCell, UsageGranularity } from '../store/port.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import { PeriodicTask, serialized } from '../telemetry/periodic-task.ts';
import { CellIndex } from './cell-index.ts';

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

/** What a flush sends of a cell: its counts, as they are now. */
const copyOf = (cell: UsageCell): UsageCell => ({ ...cell, latency: cell.latency.slice() });

function zero(cell: UsageCell): void {
  cell.requests = cell.bytesIn = cell.bytesOut = cell.durationUs = 0;
  cell.latency.fill(0);
}

/**
 * Usage analytics' counters. The gateway's observer finds the request's cell by walking small Maps
 * keyed by values the record already holds (no key string is built, nothing is allocated but a new
 * cell) and makes five additions: four sums and its latency bucket's count. Every `flushIntervalMs`,
 * and when a new minute starts, the cells counted into since the last flush go to the writer thread,
 * which adds them into the minute, hour and day rollups; a part that fails is put back, with the parts
 * after it, for the next flush, and readiness reports a warning. `stop()` flushes. Retention deletes
 * each rollup's old buckets every hour, a bounded part at a time.
 */
export class UsageAnalytics {
  readonly #sink: UsageAnalyticsSink;
  readonly #retention: UsageRetention;
  readonly #maxCells: number;
  readonly #clock: () => number;
  readonly #index = new CellIndex();
  /**
   * Every cell in the index, in the order made. A cell is one combination of dimensions, kept across
   * flushes and minutes (see #flushOnce); `minute` says which minute its counts belong to.
   */
  #cells: UsageCell[] = [];
  /** Counts of a minute that ended before a flush took them (a cell moved on to the next): sent by the next flush. */
  #closed: UsageCell[] = [];
  /** The latest minute counted into: a request in a later one starts a flush. */
  #latestMinute = Number.NaN;
  #started = false;
  /** A new minute starts a flush only with an interval of a minute or less: a longer one asks for fewer writes. */
  readonly #flushOnNewMinute: boolean;
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
    this.#flushOnNewMinute = options.flushIntervalMs <= MINUTE_MS;
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
    const minute = r.startedAt - (r.startedAt % MINUTE_MS);
    const cell = this.#cellFor(minute, r.apiId, r.route, r.keyId, r.appId, r.denialCode, classIndex(r.status));
    if (cell === null) {
      this.#dropped++;
      return;
    }
    if (cell.requests === 0) this.#unwritten++;
    cell.requests += 1;
    cell.bytesIn += r.bytesIn;
    cell.bytesOut += r.bytesOut;
    // Whole microseconds: integer sums, so the hour and day rows are exactly the sums of their minutes;
    // bucketed at that precision too, as the request log keeps durations, so both agree on every bucket.
    const durationUs = Math.round(r.durationMs * 1000);
    cell.durationUs += durationUs;
    cell.latency[bucketOf(durationUs / 1000)]! += 1;
    if (!(minute <= this.#latestMinute)) {
      const later = !Number.isNaN(this.#latestMinute);
      this.#latestMinute = minute;
      // A new minute: the last one's counts go now, before many cells move on (each that does makes a copy of them).
      if (later && this.#started && this.#flushOnNewMinute) this.#rounds.trigger();
    }
  };

  /** Requests not counted since start because `maxCells` cells were held (the store was not keeping up). */
  dropped(): number {
    return this.#dropped;
  }

  /** Cells with counts not yet written. */
  pending(): number {
    return this.#unwritten + this.#closed.length + this.#inFlight;
  }

  /** Flushes on the interval, and cuts old buckets now and every hour after; both report to health. */
  start(): void {
    this.#started = true;
    this.#rounds.start();
    this.#retentionRounds.start();
  }

  /** Stops the background rounds (waiting for those under way) and writes every cell held; rejects if the store refuses the last of them. */
  async stop(): Promise<void> {
    this.#started = false;
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

  /**
   * The cell of one combination, ready to count a request of `minute`: made (zeroed) the first time;
   * moved on to `minute` when its counts are of an earlier one (they go to #closed first). A request
   * of an earlier minute than its cell's (one that spanned the change) gets a cell of its own in
   * #closed. Null when `maxCells` cells are held.
   */
  #cellFor(minute: number, apiId: string | null, route: string | null, keyId: string | null, appId: string | null, denial: string | null, c: number) {
    const statusClass = STATUS_CLASSES[c]!;
    const cell = this.#index.find(apiId, route, keyId, appId, denial, statusClass);
    if (cell !== undefined && (cell.minute === minute || cell.requests === 0)) {
      cell.minute = minute;
      return cell;
    }
    if (this.#held() >= this.#maxCells) return null;
    // The histogram is allocated with the cell, never per request.
    const made: UsageCell = {
      minute,
      apiId,
      route,
      keyId,
      appId,
      statusClass,
      denialCode: denial,
      requests: 0,
      bytesIn: 0,
      bytesOut: 0,
      durationUs: 0,
      latency: emptyHistogram(),
    };
    if (cell === undefined) {
      this.#index.add(made);
      this.#cells.push(made);
      return made;
    }
    // In both cases below the caller counts the returned (empty) cell as one more unwritten as it adds
    // to it; #closed.length counts what is closed, so the decrements keep each counted once.
    if (minute < cell.minute) {
      // Counted apart, sent with the next flush; the store adds it into the same rows.
      this.#closed.push(made);
      this.#unwritten--;
      return made;
    }
    // The cell's counts are of a minute now over: the copy keeps them, the cell counts the new one.
    this.#closed.push(copyOf(cell));
    zero(cell);
    this.#unwritten--;
    cell.minute = minute;
    return cell;
  }

  /** Cells held: in the index, closed and waiting, and being written. */
  #held(): number {
    return this.#cells.length + this.#closed.length + this.#inFlight;
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
   * Sends the closed counts and copies of the cells with counts, and zeroes those. The index and its
   * cells stay, to be counted into again, also in later minutes: with thousands of keys, making them
   * anew every flush or minute would make thousands of objects at once that live long enough to be
   * moved to the old generation, and the scavenges that move them hold the event loop (issue 14).
   * Cells unused for a whole minute go (the index is made again from the others) when they are half
   * of it, and the whole index when it holds more than half of `maxCells` (the bound stays the bound).
   */
  async #flushOnce(): Promise<void> {
    // Closed copies first, then the cells with counts, each copied (and zeroed) only as its part goes:
    // no copy waits in memory for the parts before it (10,000 of them did, long enough to be promoted).
    const closed = this.#closed;
    this.#closed = [];
    const due = this.#cells.filter((cell) => cell.requests > 0);
    this.#unwritten = 0;
    this.#prune();
    const total = closed.length + due.length;
    this.#inFlight = total;
    const take = (j: number): UsageCell => {
      if (j < closed.length) return closed[j]!;
      const cell = due[j - closed.length]!;
      const copy = copyOf(cell);
      zero(cell);
      return copy;
    };
    for (let i = 0; i < total; i += PART) {
      const part: UsageCell[] = [];
      for (let j = i; j < Math.min(i + PART, total); j++) part.push(take(j));
      try {
        await this.#sink.add(part);
      } catch (error) {
        // Put back, added to what was counted since: the counts are deltas, so nothing is lost or doubled.
        this.#inFlight = 0;
        for (const c of part) this.#putBack(c);
        for (let j = i + part.length; j < total; j++) this.#putBack(take(j));
        throw error;
      }
      this.#inFlight -= part.length;
    }
  }

  /** Drops idle cells (none counted since before the latest minute's previous one), or the whole index past half of `maxCells`. */
  #prune(): void {
    if (this.#cells.length > this.#maxCells / 2) {
      this.#index.clear();
      this.#cells = [];
      return;
    }
    const since = this.#latestMinute - MINUTE_MS;
    const live = this.#cells.filter((cell) => cell.minute >= since);
    if (live.length > this.#cells.length / 2) return;
    this.#index.clear();
    this.#cells = live;
    for (const cell of live) this.#index.add(cell);
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
