import { reachesPercent } from '../../domain/quota-threshold.ts';
import { lineageOf, type ApiKey } from '../../domain/entities.ts';
import type { EventInput } from '../../domain/events.ts';
import type { QuotaTotal, UsageBatch } from '../../store/port.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import { PeriodicTask } from '../../telemetry/periodic-task.ts';
import { iso, type ControlContext } from '../context.ts';
import { keyRecordView } from '../services/keys.ts';
import { userView } from '../services/users.ts';

export const EVENT_SCANS = 'webhook-event-scans';
export const QUOTA_THRESHOLDS = 'webhook-quota-thresholds';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Keys read per window at most: a window is one scan interval wide, so this is far more than one holds. */
const WINDOW_KEYS = 10_000;
/** Lineages whose highest announced threshold is remembered; past it the memo starts again (the outbox's dedupe keys still hold). */
const ANNOUNCED_MEMO_ENTRIES = 200_000;
/** Store reads of keys between turns of the event loop, when many lineages cross a threshold at once. */
const READS_PER_TURN = 256;
/** Quota totals compared between turns of the event loop (about a millisecond's worth). */
const TOTALS_PER_TURN = 2048;

export interface EventScanOptions {
  ctx: ControlContext;
  health: HealthReporter;
  intervalMs: number;
  /** key.expiring lead times (ms). */
  expiringLeadsMs: readonly number[];
  quotaPercents: readonly number[];
  rateLimitMinutes: number;
  loginFailures: number;
  loginWindowMs: number;
}

/**
 * The events no change causes, found by looking (docs/webhooks.md): keys about to expire or just
 * expired, quota use crossing a threshold, keys rate-limited minute after minute, bursts of failed
 * sign-ins. Each is recorded in the outbox with a dedupe key, so however often a scan sees the same
 * condition it is announced once; delivery picks them up like any other event. Runs in the
 * background (a PeriodicTask reporting to health), and quota thresholds after each usage flush.
 */
export class EventScans {
  readonly #o: EventScanOptions;
  readonly #task: PeriodicTask;
  /** Where the expiry scan's windows start: the end of the last successful scan (a day back at start). */
  #expiryScannedTo: number | null = null;
  /** Keys announced as rate-limited, with the start of their run: announced again only after a new run begins. */
  readonly #limited = new Map<string, number>();
  /** Users whose burst was announced, and when: not again within the window. */
  readonly #bursts = new Map<string, number>();
  /** The highest threshold announced per lineage in its current period: a flush after it appends nothing. */
  readonly #announced = new Map<string, { period: string; percent: number }>();
  #last: Promise<void> = Promise.resolve();
  #quotaChecks: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: EventScanOptions) {
    this.#o = options;
    options.health.register(QUOTA_THRESHOLDS, false);
    this.#task = new PeriodicTask({
      component: EVENT_SCANS,
      critical: false,
      health: options.health,
      intervalMs: options.intervalMs,
      run: () => this.scanNow(),
    });
  }

  start(): void {
    this.#task.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#task.stop();
    await Promise.allSettled([this.#last, this.#quotaChecks]);
  }

  /** One scan now, after any under way. */
  scanNow(): Promise<void> {
    const scan = () => (this.#stopped ? Promise.resolve() : this.#scan());
    const call = this.#last.then(scan, scan);
    this.#last = call;
    return call;
  }

  /**
   * After a usage flush, with the totals the store answered for it: the quota thresholds its lineages
   * crossed (one check at a time, reported to health).
   */
  quotaFlushed(batch: UsageBatch, totals: readonly QuotaTotal[]): void {
    if (totals.length === 0 || this.#o.quotaPercents.length === 0 || this.#stopped) return;
    const check = () => this.#o.health.run(QUOTA_THRESHOLDS, () => this.#quotaThresholds(batch, totals));
    this.#quotaChecks = this.#quotaChecks.then(check, check);
  }

  /** The lowest share of a limit that makes an event: totals below it are of no use here (null: no quota thresholds). */
  get quotaTotalsFromPercent(): number | null {
    const percents = this.#o.quotaPercents;
    return percents.length === 0 ? null : Math.min(...percents);
  }

  /** Resolves once the quota checks queued so far have run (tests). */
  quotaChecked(): Promise<void> {
    return this.#quotaChecks;
  }

  async #scan(): Promise<void> {
    const now = this.#o.ctx.clock();
    await this.#expiry(now);
    await this.#rateLimits(now);
    await this.#loginBursts(now);
  }

  /**
   * key.expiring, once per key and lead time: keys whose `expiresAt - lead` passed since the last scan;
   * key.expired, once per key. Keys rotated out (their expiry is the rotation's grace end) and revoked
   * ones are not announced: key.rotated and key.revoked said it.
   */
  async #expiry(now: number): Promise<void> {
    const { store } = this.#o.ctx;
    const from = this.#expiryScannedTo ?? now - DAY;
    const events: EventInput[] = [];
    const announce = (keys: ApiKey[], event: (key: ApiKey) => EventInput) => {
      for (const key of keys) if (key.replacedBy === null) events.push(event(key));
    };
    for (const lead of this.#o.expiringLeadsMs) {
      announce(await store.keys.expiringBetween(from + lead, now + lead, WINDOW_KEYS), (key) => ({
        type: 'key.expiring',
        data: { key: keyRecordView(key), expiresAt: iso(key.expiresAt), leadSeconds: lead / 1000 },
        dedupeKey: `key.expiring:${key.id}:${lead / 1000}`,
      }));
    }
    announce(await store.keys.expiringBetween(from, now, WINDOW_KEYS), (key) => ({
      type: 'key.expired',
      data: { key: keyRecordView(key), expiredAt: iso(key.expiresAt) },
      dedupeKey: `key.expired:${key.id}`,
    }));
    if (events.length > 0) await store.events.append(events);
    this.#expiryScannedTo = now;
  }

  /**
   * quota.threshold, once per lineage, period and threshold: the totals are every node's counts after
   * this flush (the store returns them as it adds the batch), compared with the quota the batch says
   * the lineage was held to at its latest use (the verifier's, so a changed key or policy counts from
   * its next request). No store read per flush: only a lineage that crosses a threshold has its
   * current key read, for the event. Quotas an API counts per app or user are not announced (they
   * belong to no key).
   */
  async #quotaThresholds(batch: UsageBatch, totals: readonly QuotaTotal[]): Promise<void> {
    const now = this.#o.ctx.clock();
    // The quota each lineage with a total was held to, by period then lineage. The store answers only
    // totals near a threshold (totalsFromPercent), so this looks at the batch once and keeps few.
    const lineages = new Set<string>();
    for (const total of totals) lineages.add(total.lineageId);
    const heldTo = new Map<string, Map<string, UsageBatch['quotas'][number]>>();
    for (const quota of batch.quotas) {
      // No limit: counts put back or handed over without one; a later use in the period brings it.
      if (!lineages.has(quota.lineageId) || !quota.limit || quota.resetsAt === undefined || quota.resetsAt <= now) continue;
      let byLineage = heldTo.get(quota.period);
      if (byLineage === undefined) heldTo.set(quota.period, (byLineage = new Map()));
      byLineage.set(quota.lineageId, quota);
    }
    const events: EventInput[] = [];
    const announced: [string, { period: string; percent: number }][] = [];
    let reads = 0;
    for (let i = 0; i < totals.length; i++) {
      // A flush of many lineages is looked at in slices, so requests are served between them.
      if (i % TOTALS_PER_TURN === TOTALS_PER_TURN - 1) await new Promise((resolve) => setImmediate(resolve));
      const { lineageId, period, used } = totals[i]!;
      const quota = heldTo.get(period)?.get(lineageId);
      if (quota === undefined) continue;
      const limit = quota.limit!;
      const last = this.#announced.get(lineageId);
      const done = last?.period === period ? last.percent : 0;
      let highest = done;
      const crossed: number[] = [];
      for (const percent of this.#o.quotaPercents) {
        if (percent > done && reachesPercent(used, limit, percent)) ((highest = Math.max(highest, percent)), crossed.push(percent));
      }
      if (crossed.length === 0) continue;
      if (++reads % READS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      const key = await this.#currentKey(lineageId, batch);
      if (key === null) continue;
      const resetsAt = iso(quota.resetsAt!);
      for (const percent of crossed) {
        events.push({
          type: 'quota.threshold',
          data: { key: keyRecordView(key), lineageId, period, percent, limit, used, resetsAt },
          dedupeKey: `quota.threshold:${lineageId}:${period}:${percent}`,
        });
      }
      announced.push([lineageId, { period, percent: highest }]);
    }
    if (events.length > 0) await this.#o.ctx.store.events.append(events);
    if (this.#announced.size + announced.length > ANNOUNCED_MEMO_ENTRIES) this.#announced.clear();
    for (const [lineage, mark] of announced) this.#announced.set(lineage, mark);
  }

  /** The lineage's newest key: the first key (its id is the lineage's), followed along its successors; else one the batch names. */
  async #currentKey(lineage: string, batch: UsageBatch): Promise<ApiKey | null> {
    const { store } = this.#o.ctx;
    let key = await store.keys.get(lineage);
    for (let hops = 0; key?.replacedBy && hops < 100; hops++) key = (await store.keys.get(key.replacedBy)) ?? key;
    if (key) return key;
    for (const { keyId } of batch.keys) {
      const found = await store.keys.get(keyId);
      if (found && lineageOf(found) === lineage) return found;
    }
    return null;
  }

  /**
   * ratelimit.sustained: a key refused RATE_LIMITED in each of the last `rateLimitMinutes` complete
   * minutes (usage analytics' minute cells count denials per key and code). Once per run of minutes:
   * a key is announced again only after a minute without such a refusal. Needs usage analytics.
   */
  async #rateLimits(now: number): Promise<void> {
    const { ctx, rateLimitMinutes } = this.#o;
    if (!ctx.analytics) return;
    await ctx.analytics.flush();
    const lastMinute = Math.floor(now / MINUTE) * MINUTE - MINUTE;
    const span = rateLimitMinutes + 60;
    const from = lastMinute - (span - 1) * MINUTE;
    const rows = await ctx.analytics.query({
      granularity: 'minute',
      from,
      until: lastMinute + MINUTE,
      groupBy: ['key'],
      filters: { denialCode: 'RATE_LIMITED' },
      perBucket: true,
      limit: 100_000,
    });
    const minutes = new Map<string, Set<number>>();
    for (const row of rows) {
      const keyId = row.group.key;
      if (!keyId || row.requests === 0 || row.bucket === null) continue;
      let set = minutes.get(keyId);
      if (!set) minutes.set(keyId, (set = new Set()));
      set.add(row.bucket);
    }
    for (const keyId of this.#limited.keys()) if (!minutes.get(keyId)?.has(lastMinute)) this.#limited.delete(keyId);
    const events: EventInput[] = [];
    for (const [keyId, set] of minutes) {
      let run = 0;
      while (set.has(lastMinute - run * MINUTE)) run++;
      if (run < rateLimitMinutes) continue;
      const start = lastMinute - (run - 1) * MINUTE;
      const known = this.#limited.get(keyId);
      // A run as long as the window looked at may have started earlier: it is the same run.
      if (known !== undefined && (known === start || run === span)) continue;
      const key = await ctx.store.keys.get(keyId);
      if (!key) continue;
      this.#limited.set(keyId, start);
      events.push({
        type: 'ratelimit.sustained',
        data: { key: keyRecordView(key), since: iso(start), minutes: run },
        dedupeKey: `ratelimit.sustained:${keyId}:${start}`,
      });
    }
    if (events.length > 0) await ctx.store.events.append(events);
  }

  /**
   * login.failed_burst: at least `loginFailures` failed sign-ins for one user within the window (the
   * audit log's `user.login_failed` entries). Failures for names that are no user are not announced
   * (there is no account to warn about; the sign-in throttle handles them).
   */
  async #loginBursts(now: number): Promise<void> {
    const { ctx, loginFailures, loginWindowMs } = this.#o;
    const since = now - loginWindowMs;
    const counts = new Map<string, { failures: number; first: number }>();
    let cursor: string | undefined;
    for (let pages = 0; pages < 50; pages++) {
      const page = await ctx.store.audit.list({ action: 'user.login_failed', limit: 100, cursor });
      const recent = page.items.filter((e) => e.at >= since);
      for (const entry of recent) {
        if (entry.targetId === 'unknown') continue;
        const count = counts.get(entry.targetId) ?? { failures: 0, first: entry.at };
        count.failures++;
        count.first = Math.min(count.first, entry.at);
        counts.set(entry.targetId, count);
      }
      if (recent.length < page.items.length || !page.nextCursor) break;
      cursor = page.nextCursor;
    }
    for (const [userId, at] of this.#bursts) if (at <= since) this.#bursts.delete(userId);
    const events: EventInput[] = [];
    for (const [userId, count] of counts) {
      if (count.failures < loginFailures || this.#bursts.has(userId)) continue;
      const user = await ctx.store.users.get(userId);
      if (!user) continue;
      this.#bursts.set(userId, now);
      const { id, username, name, roles, disabled } = userView(user);
      events.push({
        type: 'login.failed_burst',
        data: { user: { id, username, name, roles, disabled }, failures: count.failures, windowSeconds: loginWindowMs / 1000, since: iso(count.first) },
        dedupeKey: `login.failed_burst:${userId}:${Math.floor(count.first / loginWindowMs)}`,
      });
    }
    if (events.length > 0) await ctx.store.events.append(events);
  }
}
