import { lineageOf, type ApiKey, type QuotaRule } from '../../domain/entities.ts';
import type { EventInput } from '../../domain/events.ts';
import { periodWindow } from '../../domain/quota-period.ts';
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
/** Lineages whose quota rule is kept between flushes; past it the memo starts again (a memo, not a limit). */
const QUOTA_MEMO_ENTRIES = 200_000;
/** Store reads of keys and policies between turns of the event loop, when many lineages are new at once. */
const READS_PER_TURN = 256;

/** A lineage's current key and the quota it is held to (its own, else its policy's). */
interface LineageQuota {
  key: ApiKey;
  rule: QuotaRule;
}

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
  /** Lineage id to its quota (null: none), read once and dropped when its key or policy changes. */
  readonly #quotas = new Map<string, LineageQuota | null>();
  /** The lineage whose quota a key's entry was read for, so a change to that key drops it in one lookup. */
  readonly #lineageOfKey = new Map<string, string>();
  /** The highest threshold announced per lineage in its current period: a flush after it appends nothing. */
  readonly #announced = new Map<string, { period: string; percent: number }>();
  readonly #unsubscribe: () => void;
  #last: Promise<void> = Promise.resolve();
  #quotaChecks: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: EventScanOptions) {
    this.#o = options;
    options.health.register(QUOTA_THRESHOLDS, false);
    this.#unsubscribe = options.ctx.changes.subscribe((event) => {
      if (event.type === 'key.changed') {
        this.#quotas.delete(event.keyId);
        const lineage = this.#lineageOfKey.get(event.keyId);
        if (lineage !== undefined) this.#quotas.delete(lineage);
      } else if (event.type === 'policy.changed') this.#quotas.clear();
    });
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
    this.#unsubscribe();
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
   * this flush (the store returns them as it adds the batch), compared with the lineage's quota. Work
   * per flush is a Map lookup per lineage: rules are read once and kept until a change drops them, and
   * a threshold announced is not appended again. Quotas an API counts per app or user are not
   * announced (they belong to no key).
   */
  async #quotaThresholds(batch: UsageBatch, totals: readonly QuotaTotal[]): Promise<void> {
    const now = this.#o.ctx.clock();
    const events: EventInput[] = [];
    const announced: [string, { period: string; percent: number }][] = [];
    let reads = 0;
    for (const { lineageId, period, used } of totals) {
      let quota = this.#quotas.get(lineageId);
      if (quota === undefined) {
        if (++reads % READS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
        quota = await this.#quotaOf(lineageId, batch);
        if (this.#quotas.size >= QUOTA_MEMO_ENTRIES) {
          this.#quotas.clear();
          this.#lineageOfKey.clear();
        }
        this.#quotas.set(lineageId, quota);
        if (quota !== null) this.#lineageOfKey.set(quota.key.id, lineageId);
      }
      if (quota === null) continue;
      const { key, rule } = quota;
      const window = periodWindow(rule.period, now);
      if (period !== window.id) continue;
      const last = this.#announced.get(lineageId);
      const done = last?.period === period ? last.percent : 0;
      let highest = done;
      for (const percent of this.#o.quotaPercents) {
        if (percent <= done || used < Math.ceil((rule.limit * percent) / 100)) continue;
        highest = Math.max(highest, percent);
        events.push({
          type: 'quota.threshold',
          data: { key: keyRecordView(key), lineageId, period, percent, limit: rule.limit, used, resetsAt: iso(window.end) },
          dedupeKey: `quota.threshold:${lineageId}:${period}:${percent}`,
        });
      }
      if (highest > done) announced.push([lineageId, { period, percent: highest }]);
    }
    if (events.length > 0) await this.#o.ctx.store.events.append(events);
    if (this.#announced.size + announced.length > QUOTA_MEMO_ENTRIES) this.#announced.clear();
    for (const [lineage, mark] of announced) this.#announced.set(lineage, mark);
  }

  async #quotaOf(lineage: string, batch: UsageBatch): Promise<LineageQuota | null> {
    const key = await this.#currentKey(lineage, batch);
    if (!key) return null;
    const rule = key.quota ?? (key.policyId ? (await this.#o.ctx.store.policies.get(key.policyId))?.quota : null) ?? null;
    return rule ? { key, rule } : null;
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
