import { bucketOf, emptyHistogram } from '../domain/latency-histogram.ts';
import type { RequestObserver } from '../gateway/observer.ts';
import { StorageUnavailableError, type StatusClass, type UsageAnalyticsRepo, type UsageCell, type UsageGranularity } from '../store/port.ts';
import { writeApart } from '../store/write-apart.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import { serialized } from '../telemetry/periodic-task.ts';
import { RecorderRounds } from '../telemetry/recorder-rounds.ts';
import { CellTable } from './cell-table.ts';

/** Health components: the flush (a warning when one fails or cells are dropped or refused) and retention. */
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

const STATUS_CLASSES: readonly StatusClass[] = ['0', '1xx', '2xx', '3xx', '4xx', '5xx'];
/** 0 for no answer, else the hundreds digit (statuses 100..599). */
const classIndex = (status: number): number => (status <= 0 ? 0 : Math.min(5, Math.max(1, Math.floor(status / 100))));

/** #cellFor's answers but a cell number. */
const DROPPED = -1;
const EARLIER = -2;

/**
 * Usage analytics' counters. The gateway's observer finds the request's cell by walking small Maps
 * keyed by values the record already holds (no key string is built, nothing is allocated but a new
 * cell) and makes five additions: four sums and its latency bucket's count. Every `flushIntervalMs`,
 * and when a new minute starts, the cells counted into since the last flush go to the writer thread,
 * which adds them into the minute, hour and day rollups; a part that fails for want of the store is put
 * back, with the parts after it, for the next flush, and readiness reports a warning. A part the store
 * refuses for what it holds would be refused at every flush: it is written in halves until each refused
 * cell stands alone; those are dropped, counted (`refused()`) and reported, the rest written. `stop()`
 * flushes. Retention deletes each rollup's old buckets every hour, a bounded part at a time.
 */
export class UsageAnalytics {
  readonly #sink: UsageAnalyticsSink;
  readonly #retention: UsageRetention;
  readonly #maxCells: number;
  readonly #clock: () => number;
  /**
   * The cells: one per combination of dimensions, kept across flushes and minutes (see #flushOnce);
   * each one's minute says which minute its counts belong to.
   */
  readonly #table = new CellTable();
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
  /** Background flushes, retention, and the requests lost (counted in requests, not cells). */
  readonly #rounds: RecorderRounds;

  constructor(options: UsageAnalyticsOptions) {
    if (!Number.isInteger(options.maxCells) || options.maxCells < 1) throw new Error('maxCells must be a positive integer');
    this.#sink = options.sink;
    this.#retention = options.retention;
    this.#maxCells = options.maxCells;
    this.#clock = options.clock;
    this.#flushOnNewMinute = options.flushIntervalMs <= MINUTE_MS;
    this.#rounds = new RecorderRounds({
      component: USAGE_ANALYTICS,
      retentionComponent: USAGE_ANALYTICS_RETENTION,
      health: options.health,
      flushIntervalMs: options.flushIntervalMs,
      flush: () => this.flush(),
      prune: () => this.prune(),
      droppedWarning: (n) => `${n} requests not counted: ${this.#maxCells} usage cells were waiting (analytics.maxCells); the store is not keeping up`,
      refusedWarning: (n, refusal) => `${n} requests not counted: their usage cells were refused by the store and dropped (${refusal})`,
      lastFlushFailed: (lost, reason) => `${lost} requests not counted in usage analytics: their last flush failed (${reason})`,
    });
  }

  /** The gateway's observer: never waits, never throws. */
  readonly observe: RequestObserver = (r) => {
    const minute = r.startedAt - (r.startedAt % MINUTE_MS);
    const statusClass = STATUS_CLASSES[classIndex(r.status)]!;
    // Whole microseconds: integer sums, so the hour and day rows are exactly the sums of their minutes;
    // bucketed at that precision too, as the request log keeps durations, so both agree on every bucket.
    const durationUs = Math.round(r.durationMs * 1000);
    const bucket = bucketOf(durationUs / 1000);
    const cell = this.#cellFor(minute, r.apiId, r.route, r.keyId, r.appId, r.denialCode, statusClass);
    if (cell >= 0) {
      if (this.#table.requests(cell) === 0) this.#unwritten++;
      this.#table.count(cell, r.bytesIn, r.bytesOut, durationUs, bucket);
    } else if (cell === EARLIER) {
      const latency = emptyHistogram();
      latency[bucket] = 1;
      this.#closed.push({
        minute,
        apiId: r.apiId,
        route: r.route,
        keyId: r.keyId,
        appId: r.appId,
        statusClass,
        denialCode: r.denialCode,
        requests: 1,
        bytesIn: r.bytesIn,
        bytesOut: r.bytesOut,
        durationUs,
        latency,
      });
    } else {
      this.#rounds.drop(1);
      return;
    }
    if (!(minute <= this.#latestMinute)) {
      const later = !Number.isNaN(this.#latestMinute);
      this.#latestMinute = minute;
      // A new minute: the last one's counts go now, before many cells move on (each that does makes a copy of them).
      if (later && this.#started && this.#flushOnNewMinute) this.#rounds.trigger();
    }
  };

  /** Requests not counted since start because `maxCells` cells were held (the store was not keeping up). */
  dropped(): number {
    return this.#rounds.dropped();
  }

  /** Requests whose cells a failed last flush at stop left, not counted (gatehouse_records_lost_total, reason last_flush_failed). */
  lastFlushLost(): number {
    return this.#rounds.lastFlushLost();
  }

  /** Requests whose cell the store refused for what it held (not for being unreachable), dropped since start. */
  refused(): number {
    return this.#rounds.refused();
  }

  /** Cells with counts not yet written. */
  pending(): number {
    return this.#unwritten + this.#closed.length + this.#inFlight;
  }

  /** Flushes on the interval, and cuts old buckets now and every hour after; both report to health. */
  start(): void {
    this.#started = true;
    this.#rounds.start();
  }

  /**
   * Stops the background rounds (waiting for those under way) and writes every cell held. If that last
   * flush fails, no later one comes (a gateway worker exits next): what it left is dropped and counted
   * (`lastFlushLost()`), and the rejection says how many requests, for the log.
   */
  stop(): Promise<void> {
    this.#started = false;
    return this.#rounds.stop(() => this.#dropAll());
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
   * moved on to `minute` when its counts are of an earlier one (they go to #closed first). EARLIER for
   * a request of an earlier minute than its cell's (one that spanned the change): the caller counts it
   * in #closed, apart. DROPPED when `maxCells` cells are held.
   */
  #cellFor(
    minute: number,
    apiId: string | null,
    route: string | null,
    keyId: string | null,
    appId: string | null,
    denial: string | null,
    statusClass: StatusClass,
  ): number {
    const table = this.#table;
    const cell = table.find(apiId, route, keyId, appId, denial, statusClass);
    if (cell >= 0 && (table.minute(cell) === minute || table.requests(cell) === 0)) {
      table.setMinute(cell, minute);
      return cell;
    }
    if (this.#held() >= this.#maxCells) return DROPPED;
    if (cell < 0) return table.add(minute, apiId, route, keyId, appId, denial, statusClass);
    if (minute < table.minute(cell)) return EARLIER;
    // The cell's counts are of a minute now over: they go to #closed, the cell counts the new one. The
    // caller counts the (now empty) cell as one more unwritten as it adds to it, so one less here.
    this.#closed.push(table.take(cell));
    this.#unwritten--;
    table.setMinute(cell, minute);
    return cell;
  }

  /** Drops every count held (after a failed last flush); answers how many requests, for the rounds to count as lost. */
  #dropAll(): number {
    let lost = 0;
    for (const c of this.#closed) lost += c.requests;
    for (const cell of this.#table.withCounts()) lost += this.#table.requests(cell);
    this.#closed = [];
    this.#table.clear();
    this.#unwritten = 0;
    return lost;
  }

  /** Cells held: in the table, closed and waiting, and being written. */
  #held(): number {
    return this.#table.size + this.#closed.length + this.#inFlight;
  }

  /**
   * Sends the closed counts and copies of the cells with counts, and zeroes those. The cells stay, to
   * be counted into again, also in later minutes: with thousands of keys, making them anew every
   * flush or minute would make thousands of objects at once that live long enough to be moved to the
   * old generation, and the scavenges that move them hold the event loop (issue 14). Cells unused for
   * a whole minute go when they are half of the table, and every cell when it holds more than half of
   * `maxCells` (the bound stays the bound); either happens here, before any cell is listed, as
   * nothing else renumbers cells (CellTable.retain) and flushes run one at a time.
   */
  async #flushOnce(): Promise<void> {
    this.#prune();
    // Closed copies first, then the cells with counts, each copied (and zeroed) only as its part goes:
    // no copy waits in memory for the parts before it (10,000 of them did, long enough to be promoted).
    const closed = this.#closed;
    this.#closed = [];
    const due = this.#table.withCounts();
    this.#unwritten = 0;
    const total = closed.length + due.length;
    this.#inFlight = total;
    const take = (j: number): UsageCell => (j < closed.length ? closed[j]! : this.#table.take(due[j - closed.length]!));
    for (let i = 0; i < total; i += PART) {
      const part: UsageCell[] = [];
      for (let j = i; j < Math.min(i + PART, total); j++) part.push(take(j));
      try {
        await this.#add(part);
      } catch (error) {
        let left = { unwritten: part, cause: error };
        if (!(error instanceof StorageUnavailableError)) {
          // Refused for what it holds: the store would refuse it again at every flush.
          const apart = await writeApart(
            part,
            (piece) => this.#add(piece),
            (cell, refusal) => this.#refuse(cell, refusal),
          );
          if (apart === null) continue;
          left = apart;
        }
        // Put back, added to what was counted since: the counts are deltas, so nothing is lost or doubled.
        this.#inFlight = 0;
        for (const c of left.unwritten) this.#putBack(c);
        for (let j = i + part.length; j < total; j++) this.#putBack(take(j));
        throw left.cause;
      }
    }
  }

  async #add(cells: UsageCell[]): Promise<void> {
    await this.#sink.add(cells);
    this.#inFlight -= cells.length;
  }

  /** A cell the store refused for what it holds, alone: its requests are dropped and counted. */
  #refuse(cell: UsageCell, error: unknown): void {
    this.#inFlight -= 1;
    this.#rounds.refuse(cell.requests, error);
  }

  /**
   * Drops idle cells (none counted since before the latest minute's previous one), or every cell past
   * half of `maxCells`; a dropped cell's counts not yet sent go to #closed, to be sent by this flush.
   */
  #prune(): void {
    const table = this.#table;
    if (table.size > this.#maxCells / 2) {
      for (const cell of table.withCounts()) this.#closed.push(table.take(cell));
      table.clear();
      return;
    }
    const since = this.#latestMinute - MINUTE_MS;
    let live = 0;
    for (let cell = 0; cell < table.size; cell++) if (table.minute(cell) >= since || table.requests(cell) > 0) live++;
    if (live > table.size / 2) return;
    table.retain((cell) => table.minute(cell) >= since || table.requests(cell) > 0);
  }

  #putBack(c: UsageCell): void {
    const cell = this.#cellFor(c.minute, c.apiId, c.route, c.keyId, c.appId, c.denialCode, c.statusClass);
    if (cell >= 0) {
      if (this.#table.requests(cell) === 0) this.#unwritten++;
      this.#table.addCounts(cell, c);
    } else if (cell === EARLIER) this.#closed.push(c);
    else this.#rounds.drop(c.requests);
  }
}
