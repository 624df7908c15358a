import { mayWantTotal, totalWanted } from '../../domain/quota-threshold.ts';
import { recordKeyAddresses } from './key-addresses.ts';
import type { QuotaTotal, UsageBatch, UsageRepo } from '../port.ts';
import { changedAny, type SqliteDb } from './db.ts';

/**
 * Each flush adds to the rows the previous one left: one UPDATE per row. Only a row's first write
 * inserts, and looks for its key or lineage first: a deleted one's rows went with it, and its uses
 * are dropped. One transaction (BEGIN IMMEDIATE), so nothing writes between the two.
 */
const ADD_DAY = 'UPDATE usage_daily SET requests = requests + ? WHERE key_id = ? AND day = ?';
const FIRST_DAY = 'INSERT INTO usage_daily (key_id, day, requests) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM keys WHERE id = ?)';
// The right-hand sides read the row as it was: the address is taken only from a use at least as recent.
const LATER_USE =
  'UPDATE key_last_use SET used_from = CASE WHEN ? IS NOT NULL AND ? >= used_at THEN ? ELSE used_from END, used_at = MAX(used_at, ?) WHERE key_id = ?';
const FIRST_USE = 'INSERT INTO key_last_use (key_id, used_at, used_from) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM keys WHERE id = ?)';
const ADD_QUOTA = 'UPDATE quota_usage SET used = used + ? WHERE key_id = ? AND period = ?';
const FIRST_QUOTA = 'INSERT INTO quota_usage (key_id, period, used) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM keys WHERE lineage_id = ?)';
// Reading the total back costs about 1 µs per key and flush, so only a batch that may want it asks (UsageBatch.totalsFromPercent).
const RETURNING_USED = ' RETURNING used';
const ADD_QUOTA_TOTAL = ADD_QUOTA + RETURNING_USED;
const FIRST_QUOTA_TOTAL = FIRST_QUOTA + RETURNING_USED;

export function usageRepo(db: SqliteDb): UsageRepo {
  return {
    async record(batch: UsageBatch) {
      const totals: QuotaTotal[] = [];
      db.transaction(() => {
        for (const k of batch.keys) {
          if (!changedAny(db.sql(ADD_DAY).run(k.requests, k.keyId, k.day))) db.sql(FIRST_DAY).run(k.keyId, k.day, k.requests, k.keyId);
          const from = k.lastUsedFrom ?? null;
          if (!changedAny(db.sql(LATER_USE).run(from, k.lastUsedAt, from, k.lastUsedAt, k.keyId))) db.sql(FIRST_USE).run(k.keyId, k.lastUsedAt, from, k.keyId);
        }
        for (const q of batch.quotas) {
          if (!mayWantTotal(batch.totalsFromPercent, q.limit)) {
            if (!changedAny(db.sql(ADD_QUOTA).run(q.delta, q.lineageId, q.period))) db.sql(FIRST_QUOTA).run(q.lineageId, q.period, q.delta, q.lineageId);
            continue;
          }
          const row = db.sql(ADD_QUOTA_TOTAL).get(q.delta, q.lineageId, q.period) ?? db.sql(FIRST_QUOTA_TOTAL).get(q.lineageId, q.period, q.delta, q.lineageId);
          const used = row ? Number(row.used) : null;
          if (used !== null && totalWanted(batch.totalsFromPercent, q.limit, used)) totals.push({ lineageId: q.lineageId, period: q.period, used });
        }
        for (const c of batch.counters ?? []) {
          db.sql(
            'INSERT INTO identity_quota_usage (counter, period, used) VALUES (?, ?, ?) ON CONFLICT (counter, period) DO UPDATE SET used = used + excluded.used',
          ).run(c.counter, c.period, c.delta);
        }
        recordKeyAddresses(db.sql, batch);
      });
      return totals;
    },
    async counterUsed(counter, period) {
      const row = db.sql('SELECT used FROM identity_quota_usage WHERE counter = ? AND period = ?').get(counter, period);
      return row ? Number(row.used) : 0;
    },
    async quotaUsed(lineageId, period) {
      const row = db.sql('SELECT used FROM quota_usage WHERE key_id = ? AND period = ?').get(lineageId, period);
      return row ? Number(row.used) : 0;
    },
    async requestsByDay(keyId) {
      return db
        .sql('SELECT day, requests FROM usage_daily WHERE key_id = ? ORDER BY day')
        .all(keyId)
        .map((r) => ({
          day: String(r.day),
          requests: Number(r.requests),
        }));
    },
  };
}
