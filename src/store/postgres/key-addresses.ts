import { keyAddressUseFromRow, seenDayOf } from '../rows.ts';
import { ADDRESSES_PER_KEY, OTHER_ADDRESSES, type KeyAddressRepo, type KeyAddressUse, type UsageBatch } from '../port.ts';
import type { PgDb, Queryable } from './db.ts';
import { addressCursor, parseAddressCursor } from '../cursors.ts';

/**
 * A usage batch's addresses, inside the batch's own transaction, with the same rules as the SQLite
 * adapter (store/sqlite/key-addresses.ts): uses of a deleted key are dropped; an address the key
 * has adds to its row; a new one gets a row while the key has fewer than the cap, else it adds to
 * the key's OTHER_ADDRESSES row. The keys' rows are read once per batch, then written in one statement.
 */
export async function recordKeyAddresses(tx: Queryable, batch: UsageBatch): Promise<void> {
  const uses = batch.addresses;
  if (!uses?.length) return;
  const cap = batch.addressesPerKey ?? ADDRESSES_PER_KEY;
  const keyIds = [...new Set(uses.map((u) => u.keyId))];
  const existing = await tx.query('SELECT id FROM keys WHERE id = ANY($1::text[])', [keyIds]);
  const live = new Set(existing.rows.map((r) => String(r.id)));
  const stored = await tx.query('SELECT key_id, address FROM key_addresses WHERE key_id = ANY($1::text[]) AND address <> $2', [keyIds, OTHER_ADDRESSES]);
  const kept = new Map<string, Set<string>>();
  for (const row of stored.rows) {
    const addresses = kept.get(String(row.key_id)) ?? new Set<string>();
    addresses.add(String(row.address));
    kept.set(String(row.key_id), addresses);
  }
  const merged = new Map<string, KeyAddressUse>();
  for (const use of uses) {
    if (!live.has(use.keyId)) continue;
    const addresses = kept.get(use.keyId) ?? new Set<string>();
    kept.set(use.keyId, addresses);
    let address = use.address;
    if (address !== OTHER_ADDRESSES && !addresses.has(address)) {
      if (addresses.size >= cap) address = OTHER_ADDRESSES;
      else addresses.add(address);
    }
    const id = `${use.keyId}\u0000${address}`;
    const seen = merged.get(id);
    merged.set(
      id,
      seen
        ? {
            ...seen,
            firstSeen: Math.min(seen.firstSeen, use.firstSeen),
            lastSeen: Math.max(seen.lastSeen, use.lastSeen),
            requests: seen.requests + use.requests,
          }
        : { ...use, address },
    );
  }
  if (!merged.size) return;
  const rows = [...merged.values()];
  // In key order, as the batch's other upserts (usage.ts says why).
  await tx.query(
    `INSERT INTO key_addresses (key_id, address, first_seen, last_seen, requests)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS a(key_id, address, first_seen, last_seen, requests)
     ORDER BY a.key_id COLLATE "C", a.address COLLATE "C"
     ON CONFLICT (key_id, address) DO UPDATE SET first_seen = LEAST(key_addresses.first_seen, excluded.first_seen),
       last_seen = GREATEST(key_addresses.last_seen, excluded.last_seen), requests = key_addresses.requests + excluded.requests`,
    [rows.map((r) => r.keyId), rows.map((r) => r.address), rows.map((r) => r.firstSeen), rows.map((r) => r.lastSeen), rows.map((r) => r.requests)],
  );
}

/** The reads and retention; writes come only through recordKeyAddresses. */
export function keyAddressRepo(db: PgDb): KeyAddressRepo {
  return {
    async list(keyId, query) {
      const cursor = query.cursor === undefined ? null : parseAddressCursor(query.cursor);
      const args: unknown[] = [keyId, OTHER_ADDRESSES, query.limit + 1];
      const after = cursor ? 'AND (last_seen, address) < ($4, $5)' : '';
      if (cursor) args.push(cursor.lastSeen, cursor.address);
      const { rows } = await db.query(
        `SELECT * FROM key_addresses WHERE key_id = $1 AND address <> $2 ${after} ORDER BY last_seen DESC, address DESC LIMIT $3`,
        args,
      );
      const items = rows.slice(0, query.limit).map(keyAddressUseFromRow);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > query.limit && last ? addressCursor(last) : null };
    },
    async others(keyId) {
      const { rows } = await db.query('SELECT * FROM key_addresses WHERE key_id = $1 AND address = $2', [keyId, OTHER_ADDRESSES]);
      return rows[0] ? keyAddressUseFromRow(rows[0]) : null;
    },
    async countSeenSince(keyId, at) {
      const { rows } = await db.query(
        'SELECT COUNT(*) FILTER (WHERE address <> $1) AS addresses, COUNT(*) FILTER (WHERE address = $1) AS others FROM key_addresses WHERE key_id = $2 AND last_seen >= $3',
        [OTHER_ADDRESSES, keyId, at],
      );
      return { addresses: Number(rows[0]!.addresses), others: Number(rows[0]!.others) > 0 };
    },
    async deleteSeenBefore(at, limit) {
      // seen_day (last_seen's day, migration 7) is the indexed column: the oldest days first, no sort.
      // last_seen again outside the subquery: a row a flush has just seen again, while this waited for
      // it, is re-checked as it is now (READ COMMITTED) and kept; the subquery's pick is not re-checked.
      const { rowCount } = await db.query(
        `DELETE FROM key_addresses WHERE (key_id, address) IN
           (SELECT key_id, address FROM key_addresses WHERE seen_day <= $1 AND last_seen < $2 ORDER BY seen_day LIMIT $3) AND last_seen < $2`,
        [seenDayOf(at), at, limit],
      );
      return rowCount;
    },
  };
}
