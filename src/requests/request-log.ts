import { periodWindow } from '../domain/quota-period.ts';
import type { Api } from '../domain/entities.ts';
import type { RequestObserver } from '../gateway/observer.ts';
import { StorageUnavailableError, type RequestLogRepo } from '../store/port.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import { serialized } from '../telemetry/periodic-task.ts';
import { RecorderRounds } from '../telemetry/recorder-rounds.ts';
import { requestLogRow, type QueryMode } from './request-entry.ts';
import { decodeBatch, encodeBatch, EntryBatchWriter, type EntryBatch } from '../store/entry-batch.ts';
import { writeApart } from '../store/write-apart.ts';

/** Health components: flushing (a warning when records are dropped or a flush fails) and retention. */
export const REQUEST_LOG = 'request-log';
export const REQUEST_LOG_RETENTION = 'request-log-retention';

/** Where records go, as the buffer's batches: the writer thread (writer/), or the store itself when there is no file to share. */
export type RequestLogSink = Pick<RequestLogRepo, 'append' | 'deleteBefore'>;

export interface RequestLogOptions {
  sink: RequestLogSink;
  health: HealthReporter;
  /** Records held at most, buffered and being written together: past it, new records are dropped and counted. */
  bufferRecords: number;
  /** A flush starts when this many records wait, without waiting for the interval. */
  flushRecords: number;
  flushIntervalMs: number;
  /** Whole UTC days kept before today. */
  retentionDays: number;
  clock: () => number;
}

/** Entries per batch, so per message to the writer and per transaction there. */
const PART = 500;
/** Old records deleted per transaction, so retention never holds the write lock for long. */
const PRUNE_PART = 10_000;
const DAY_MS = 86_400_000;

/**
 * The request log's buffer. On the request path it costs a Map lookup and the entry's encoding:
 * records are turned into entries (secrets removed), encoded into a reused buffer, and written in
 * parts by the writer thread, every
 * `flushIntervalMs` or when `flushRecords` wait. It is bounded: while the store cannot keep up,
 * the gateway keeps serving, records past `bufferRecords` are dropped and counted (`dropped()`),
 * and readiness reports a warning (a non-critical component). A part that fails for want of the
 * store is kept, with the ones after it, for the next flush. A part the store refuses for what it
 * holds would be refused again at every flush, and everything after it would wait until the buffer
 * filled: it is written in halves until each refused entry stands alone; those are dropped,
 * counted (`refused()`) and reported, the rest written. `stop()` flushes everything.
 */
export class RequestLog {
  readonly #sink: RequestLogSink;
  readonly #capacity: number;
  readonly #flushRecords: number;
  readonly #retentionDays: number;
  readonly #clock: () => number;
  /** Per API id: off (the API opted out) or what its query strings keep; absent: names only. */
  #apis = new Map<string, QueryMode | false>();
  /**
   * Entries waiting, encoded as their record is observed (entry-batch.ts), in a buffer that is kept
   * and reused: bytes outside the heap, not objects a scavenge copies. A flush takes it and fills the
   * spare meanwhile; its parts are copied out one at a time as they are sent (why: EntryBatchWriter).
   */
  #filling = new EntryBatchWriter(PART);
  #spare = new EntryBatchWriter(PART);
  /** Parts a failed flush left unwritten, older than anything in #filling: the next flush sends them first. */
  #unwritten: EntryBatch[] = [];
  /** Entries in #unwritten and #filling. */
  #buffered = 0;
  /** Records taken by the flush under way and not yet written: they count against the capacity. */
  #inFlight = 0;
  #written = 0;
  /** Background flushes (every `flushIntervalMs`, or when `flushRecords` wait), retention, and what was lost. */
  readonly #rounds: RecorderRounds;

  constructor(options: RequestLogOptions) {
    for (const [name, value] of Object.entries({
      bufferRecords: options.bufferRecords,
      flushRecords: options.flushRecords,
      retentionDays: options.retentionDays,
    })) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
    }
    this.#sink = options.sink;
    this.#capacity = options.bufferRecords;
    this.#flushRecords = options.flushRecords;
    this.#retentionDays = options.retentionDays;
    this.#clock = options.clock;
    this.#rounds = new RecorderRounds({
      component: REQUEST_LOG,
      retentionComponent: REQUEST_LOG_RETENTION,
      health: options.health,
      flushIntervalMs: options.flushIntervalMs,
      flush: () => this.flush(),
      prune: () => this.prune(),
      droppedWarning: (n) => `${n} request records dropped: the buffer (requestLog.bufferRecords = ${this.#capacity}) was full; the store is not keeping up`,
      refusedWarning: (n, refusal) => `${n} request records refused by the store and dropped (${refusal})`,
      lastFlushFailed: (lost, reason) => `${lost} request records not written: their last flush failed (${reason})`,
    });
  }

  /** The gateway's observer: never waits, never throws; makes the entry's row (secrets removed) and buffers it. */
  readonly observe: RequestObserver = (record) => {
    const mode = record.apiId === null ? 'names' : (this.#apis.get(record.apiId) ?? 'names');
    if (mode === false) return;
    if (this.#buffered + this.#inFlight >= this.#capacity) {
      this.#rounds.drop(1);
      return;
    }
    this.#filling.add(requestLogRow(record, mode));
    this.#buffered++;
    if (this.#buffered >= this.#flushRecords) this.#rounds.trigger();
  };

  /** Each API's `requestLog` setting; called with every API whenever one changes. */
  configure(apis: readonly Api[]): void {
    const next = new Map<string, QueryMode | false>();
    for (const api of apis) {
      if (api.requestLog === false) next.set(api.id, false);
      else if (api.requestLog?.query) next.set(api.id, 'values');
    }
    this.#apis = next;
  }

  /** Records dropped since start because the buffer was full (gatehouse_records_lost_total, reason buffer_full). */
  dropped(): number {
    return this.#rounds.dropped();
  }

  /** Records a failed last flush at stop left, dropped (gatehouse_records_lost_total, reason last_flush_failed). */
  lastFlushLost(): number {
    return this.#rounds.lastFlushLost();
  }

  /** Records the store refused for what they held (not for being unreachable), dropped since start (gatehouse_records_lost_total). */
  refused(): number {
    return this.#rounds.refused();
  }

  /** Records written to the store since start. */
  written(): number {
    return this.#written;
  }

  /** Records held and not yet written (buffered or being written). */
  pending(): number {
    return this.#buffered + this.#inFlight;
  }

  /** Flushes on the interval, and cuts old days now and every hour after; both report to health. */
  start(): void {
    this.#rounds.start();
  }

  /**
   * Stops the background rounds (waiting for those under way) and writes every record held. If that last
   * flush fails, no later one comes (a gateway worker exits next): what it left is dropped and counted
   * (`lastFlushLost()`), and the rejection says how many records, for the log.
   */
  stop(): Promise<void> {
    return this.#rounds.stop(() => this.#dropAll());
  }

  /**
   * Writes every record held now. Serialised: a flush waits for the one before it, so parts never
   * overlap; after a failed flush (reported to its own caller) the next one still runs.
   */
  readonly flush = serialized(() => this.#flushOnce());

  /** Deletes the records of days before the retention window (UTC), a part at a time; returns how many. */
  async prune(): Promise<number> {
    const cutoff = periodWindow('day', this.#clock() - this.#retentionDays * DAY_MS).id;
    let deleted = 0;
    for (;;) {
      const n = await this.#sink.deleteBefore(cutoff, PRUNE_PART);
      deleted += n;
      if (n < PRUNE_PART) return deleted;
    }
  }

  async #flushOnce(): Promise<void> {
    const taken = this.#filling;
    if (this.#unwritten.length === 0 && taken.entries === 0) return;
    this.#filling = this.#spare;
    this.#spare = taken;
    const unwritten = this.#unwritten;
    this.#unwritten = [];
    this.#inFlight = this.#buffered;
    this.#buffered = 0;
    // The parts a failed flush left first (they are older), then what was buffered since.
    const parts = (function* () {
      yield* unwritten;
      yield* taken.parts();
    })();
    try {
      for (const batch of parts) {
        try {
          await this.#append(batch);
          this.#wrote(batch.entries);
        } catch (error) {
          let left = { unwritten: [batch], cause: error };
          if (!(error instanceof StorageUnavailableError)) {
            // Refused for what it holds: the store would refuse it again at every flush.
            const apart = await writeApart(
              decodeBatch(batch),
              async (piece) => {
                await this.#append(encodeBatch(piece)!);
                this.#wrote(piece.length);
              },
              (_, refusal) => this.#refuse(refusal),
            );
            if (apart === null) continue;
            left = { unwritten: [encodeBatch(apart.unwritten)!], cause: apart.cause };
          }
          // Kept for the next flush, ahead of what arrived since: they were counted against the capacity all along.
          this.#unwritten = left.unwritten.concat([...parts]);
          this.#buffered += this.#inFlight;
          this.#inFlight = 0;
          throw left.cause;
        }
      }
    } finally {
      taken.clear();
    }
  }

  /** Drops every record held (after a failed last flush); answers how many, for the rounds to count as lost. */
  #dropAll(): number {
    const lost = this.#buffered + this.#inFlight;
    this.#unwritten = [];
    this.#filling.clear();
    this.#buffered = 0;
    this.#inFlight = 0;
    return lost;
  }

  #append(batch: EntryBatch): Promise<void> {
    return this.#sink.append(batch);
  }

  #wrote(entries: number): void {
    this.#inFlight -= entries;
    this.#written += entries;
  }

  /** An entry the store refused for what it holds, alone: dropped and counted. */
  #refuse(error: unknown): void {
    this.#inFlight -= 1;
    this.#rounds.refuse(1, error);
  }
}
