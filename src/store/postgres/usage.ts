import { totalWanted } from '../../domain/quota-threshold.ts';
import type { QuotaTotal, UsageBatch, UsageRepo } from '../port.ts';
import type { PgDb, Queryable } from './db.ts';
import { recordKeyAddresses } from './key-addresses.ts';

/** Any constant; this one spells "usage". */
export const USAGE_OF_KEYS_LOCK = 0x7573616765;

/**
 * How long a flush or a key's deletion waits for its turn. A deletion waiting behind a stuck flush
 * holds up every node's next flushes behind it (PostgreSQL queues the shared requests after it), so
 * neither waits for the statement timeout: past this, the wait fails with 55P03, which db.ts reports
 * as StorageUnavailableError (a flush keeps its counts for the next one, a deletion answers 503).
 */
export const FLUSH_TURN_WAIT_MS = 1000;

/**
 * A flush writes rows only for keys its statements see (EXISTS, each in its own snapshot): a key's
 * deletion committed meanwhile would not see the rows the flush then adds, and they would outlive the
 * key (SQLite writes one transaction at a time, so there it cannot happen). So flushes hold this lock
 * shared, from before their first statement, and a key's deletion holds it alone (`waitForFlushes`):
 * it waits for the flushes under way, and the ones after it see the key gone.
 */
async function flushTurn(tx: Queryable): Promise<void> {
  await takeTurn(tx, 'pg_advisory_xact_lock_shared');
}

/** For a key's deletion, before its first statement: see flushTurn. Deletions are rare; flushes wait a moment. */
export async function waitForFlushes(tx: Queryable): Promise<void> {
  await takeTurn(tx, 'pg_advisory_xact_lock');
}

/**
 * The lock, waited for at most FLUSH_TURN_WAIT_MS; the timeout is the server's default again for the
 * rest of the transaction (two flushes of the same keys wait for each other's rows, as they should).
 * One round trip: no parameters, so the statements go together (simple query protocol).
 */
async function takeTurn(tx: Queryable, lock: 'pg_advisory_xact_lock' | 'pg_advisory_xact_lock_shared'): Promise<void> {
  await tx.query(`SET LOCAL lock_timeout = ${FLUSH_TURN_WAIT_MS}; SELECT ${lock}(${USAGE_OF_KEYS_LOCK}); SET LOCAL lock_timeout = DEFAULT`);
}

/**
 * Usage on PostgreSQL. A batch is written in one transaction with one statement per table (arrays
 * through unnest), not one per key: a flush of 10,000 keys is a few round trips. Rows for the same
 * key and day are summed first, since one INSERT ... ON CONFLICT may not touch a row twice. Each
 * upsert takes its rows in key order (ORDER BY), not the batch's (nor a join's): two nodes flushing
 * the same keys then lock them in the same order, and the second waits instead of deadlocking.
 */
export function usageRepo(db: PgDb): UsageRepo {
  return {
    async record(batch: UsageBatch) {
      return db.transaction(async (tx) => {
        await flushTurn(tx);
        await recordDaily(tx, batch);
        const totals = await recordQuotas(tx, batch);
        await recordKeyAddresses(tx, batch);
        return totals;
      });
    },
    async counterUsed(counter, period) {
      const { rows } = await db.query('SELECT used FROM identity_quota_usage WHERE counter = $1 AND period = $2', [counter, period]);
      return rows[0] ? Number(rows[0].used) : 0;
    },
    async quotaUsed(lineageId, period) {
      const { rows } = await db.query('SELECT used FROM quota_usage WHERE key_id = $1 AND period = $2', [lineageId, period]);
      return rows[0] ? Number(rows[0].used) : 0;
    },
    async requestsByDay(keyId) {
      const { rows } = await db.query('SELECT day, requests FROM usage_daily WHERE key_id = $1 ORDER BY day', [keyId]);
      return rows.map((r) => ({ day: String(r.day), requests: Number(r.requests) }));
    },
  };
}

async function recordDaily(tx: Queryable, batch: UsageBatch): Promise<void> {
  if (!batch.keys.length) return;
  const daily = sum(batch.keys.map((k) => [`${k.keyId}\u0000${k.day}`, k.requests]));
  const [ids, days] = splitPairs([...daily.keys()]);
  await tx.query(
    `INSERT INTO usage_daily (key_id, day, requests)
     SELECT u.key_id, u.day, u.requests FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(key_id, day, requests)
     WHERE EXISTS (SELECT 1 FROM keys WHERE keys.id = u.key_id)
     ORDER BY u.key_id COLLATE "C", u.day COLLATE "C"
     ON CONFLICT (key_id, day) DO UPDATE SET requests = usage_daily.requests + excluded.requests`,
    [ids, days, [...daily.values()]],
  );
  // Per key, the latest use in the batch, and its address.
  const latest = new Map<string, { at: number; from: string | null }>();
  for (const k of batch.keys) {
    const seen = latest.get(k.keyId);
    if (!seen || k.lastUsedAt >= seen.at)
      latest.set(k.keyId, { at: k.lastUsedAt, from: k.lastUsedFrom ?? (seen && seen.at === k.lastUsedAt ? seen.from : null) });
  }
  const uses = [[...latest.keys()], [...latest.values()].map((l) => l.at), [...latest.values()].map((l) => l.from)];
  // The right-hand sides read the row as it was: the address is taken only from a use at least as recent.
  // The key's own row is not written (migration 6): a new version of it per flush was most of the write.
  // Until the contract release, a use without an address also looks at the key's own columns: an older
  // node may have written a later use there, whose address is then the last one known (reads fall back
  // to them too: keys.ts LAST_USE_COLUMNS).
  await tx.query(
    `INSERT INTO key_last_use (key_id, used_at, used_from)
     SELECT u.key_id, u.used_at, u.used_from FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(key_id, used_at, used_from)
     WHERE EXISTS (SELECT 1 FROM keys WHERE keys.id = u.key_id)
     ORDER BY u.key_id COLLATE "C"
     ON CONFLICT (key_id) DO UPDATE SET
       used_from = CASE
         WHEN excluded.used_from IS NOT NULL AND excluded.used_at >= key_last_use.used_at THEN excluded.used_from
         WHEN excluded.used_from IS NULL THEN (
           SELECT CASE WHEN keys.last_used_at > key_last_use.used_at THEN COALESCE(keys.last_used_from, key_last_use.used_from) ELSE key_last_use.used_from END
           FROM keys WHERE keys.id = key_last_use.key_id)
         ELSE key_last_use.used_from END,
       used_at = GREATEST(key_last_use.used_at, excluded.used_at)`,
    uses,
  );
  // Until the contract release: a draining key's own columns too, which older nodes read to decide
  // that it is drained and revoke it (control/services/rotation.ts). Few keys drain at once. In no set
  // order: each key's key_last_use row, just locked in key order, already keeps two flushes apart.
  await tx.query(
    `UPDATE keys SET
       last_used_from = CASE WHEN u.used_from IS NOT NULL AND u.used_at >= COALESCE(keys.last_used_at, 0) THEN u.used_from ELSE keys.last_used_from END,
       last_used_at = GREATEST(COALESCE(keys.last_used_at, 0), u.used_at)
     FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(key_id, used_at, used_from)
     WHERE keys.id = u.key_id AND keys.retire_quiet_ms IS NOT NULL`,
    uses,
  );
}

/** Quota and counter use; returns the quota totals after the batch (the rows the upsert wrote). */
async function recordQuotas(tx: Queryable, batch: UsageBatch): Promise<QuotaTotal[]> {
  let totals: QuotaTotal[] = [];
  if (batch.quotas.length) {
    const quotas = sum(batch.quotas.map((q) => [`${q.lineageId}\u0000${q.period}`, q.delta]));
    const [lineages, periods] = splitPairs([...quotas.keys()]);
    const { rows } = await tx.query(
      `INSERT INTO quota_usage (key_id, period, used)
       SELECT q.key_id, q.period, q.used FROM unnest($1::text[], $2::text[], $3::bigint[]) AS q(key_id, period, used)
       WHERE EXISTS (SELECT 1 FROM keys WHERE keys.lineage_id = q.key_id)
       ORDER BY q.key_id COLLATE "C", q.period COLLATE "C"
       ON CONFLICT (key_id, period) DO UPDATE SET used = quota_usage.used + excluded.used
       RETURNING key_id, period, used`,
      [lineages, periods, [...quotas.values()]],
    );
    totals = rows.map((r) => ({ lineageId: String(r.key_id), period: String(r.period), used: Number(r.used) }));
    const from = batch.totalsFromPercent;
    if (from !== undefined) {
      // The limit each lineage was held to, by period then lineage (no key strings made per entry).
      const limits = new Map<string, Map<string, number | undefined>>();
      for (const q of batch.quotas) {
        let byLineage = limits.get(q.period);
        if (byLineage === undefined) limits.set(q.period, (byLineage = new Map()));
        byLineage.set(q.lineageId, q.limit);
      }
      totals = totals.filter((t) => totalWanted(from, limits.get(t.period)?.get(t.lineageId), t.used));
    }
  }
  if (batch.counters?.length) {
    const counters = sum(batch.counters.map((c) => [`${c.counter}\u0000${c.period}`, c.delta]));
    const [names, periods] = splitPairs([...counters.keys()]);
    await tx.query(
      `INSERT INTO identity_quota_usage (counter, period, used)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(counter, period, used)
       ORDER BY c.counter COLLATE "C", c.period COLLATE "C"
       ON CONFLICT (counter, period) DO UPDATE SET used = identity_quota_usage.used + excluded.used`,
      [names, periods, [...counters.values()]],
    );
  }
  return totals;
}

function sum(entries: [string, number][]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const [key, value] of entries) totals.set(key, (totals.get(key) ?? 0) + value);
  return totals;
}

function splitPairs(keys: string[]): [string[], string[]] {
  const pairs = keys.map((k) => k.split('\u0000') as [string, string]);
  return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
}
