import { totalWanted } from '../../domain/quota-threshold.ts';
import { recordKeyAddresses } from './key-addresses.ts';
import type { QuotaTotal, UsageBatch, UsageRepo } from '../port.ts';
import type { SqliteDb } from './db.ts';

export function usageRepo(db: SqliteDb): UsageRepo {
  return {
    async record(batch: UsageBatch) {
      const totals: QuotaTotal[] = [];
      db.transaction(() => {
        for (const k of batch.keys) {
          db.sql(
            'INSERT INTO usage_daily (key_id, day, requests) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM keys WHERE id = ?) ON CONFLICT (key_id, day) DO UPDATE SET requests = requests + excluded.requests',
          ).run(k.keyId, k.day, k.requests, k.keyId);
          // Expressions read the row as it was: the address is taken only from a use at least as recent.
          db.sql(
            'UPDATE keys SET last_used_from = CASE WHEN ? IS NOT NULL AND ? >= COALESCE(last_used_at, 0) THEN ? ELSE last_used_from END, last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?',
          ).run(k.lastUsedFrom ?? null, k.lastUsedAt, k.lastUsedFrom ?? null, k.lastUsedAt, k.keyId);
        }
        for (const q of batch.quotas) {
          const row = db
            .sql(
              'INSERT INTO quota_usage (key_id, period, used) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM keys WHERE lineage_id = ?) ON CONFLICT (key_id, period) DO UPDATE SET used = used + excluded.used RETURNING used',
            )
            .get(q.lineageId, q.period, q.delta, q.lineageId);
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
