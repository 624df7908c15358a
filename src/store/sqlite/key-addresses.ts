import { keyAddressUseFromRow, seenDayOf } from '../rows.ts';
import type { SQLInputValue } from 'node:sqlite';
import { ADDRESSES_PER_KEY, OTHER_ADDRESSES, type KeyAddressRepo, type KeyAddressUse, type UsageBatch } from '../port.ts';
import { changedAny, type SqliteDb } from './db.ts';
import { addressCursor, parseAddressCursor } from '../cursors.ts';

type Sql = SqliteDb['sql'];

/**
 * A usage batch's addresses, inside the batch's own transaction. Uses of a deleted key are dropped,
 * as its request counts are. An address the key already has adds to its row; a new one gets a row
 * while the key has fewer than the cap, else it adds to the key's OTHER_ADDRESSES row: the table
 * holds at most cap + 1 rows per key however many addresses call it, and no request goes uncounted.
 */
export function recordKeyAddresses(sql: Sql, batch: UsageBatch): void {
  const rows = batch.addresses;
  if (!rows?.length) return;
  const cap = batch.addressesPerKey ?? ADDRESSES_PER_KEY;
  const exists = new Map<string, boolean>();
  // Rows each key keeps (OTHER_ADDRESSES not counted), counted once per batch and kept up to date here.
  const kept = new Map<string, number>();
  for (const row of rows) {
    // Most uses come from an address the key has a row for: one statement. A deleted key has none.
    if (addToRow(sql, row)) continue;
    let known = exists.get(row.keyId);
    if (known === undefined) exists.set(row.keyId, (known = sql('SELECT 1 FROM keys WHERE id = ?').get(row.keyId) !== undefined));
    if (!known) continue;
    // A new address: its own row while the key has fewer than the cap, else the others' row.
    let address = row.address;
    if (address !== OTHER_ADDRESSES) {
      const count =
        kept.get(row.keyId) ?? Number(sql('SELECT COUNT(*) AS n FROM key_addresses WHERE key_id = ? AND address <> ?').get(row.keyId, OTHER_ADDRESSES)!.n);
      if (count >= cap) address = OTHER_ADDRESSES;
      kept.set(row.keyId, count >= cap ? count : count + 1);
    }
    sql(
      `INSERT INTO key_addresses (key_id, address, first_seen, last_seen, requests, seen_day) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key_id, address) DO UPDATE SET first_seen = MIN(first_seen, excluded.first_seen),
         last_seen = MAX(last_seen, excluded.last_seen), requests = requests + excluded.requests, seen_day = MAX(seen_day, excluded.seen_day)`,
    ).run(row.keyId, address, row.firstSeen, row.lastSeen, row.requests, seenDayOf(row.lastSeen));
  }
}

/** Adds a use to the key's row for this address, if it has one: whether it had. */
function addToRow(sql: Sql, use: KeyAddressUse): boolean {
  const day = seenDayOf(use.lastSeen);
  // A use on the day the row was last seen (most of them): seen_day is not written, so its index is not touched.
  const sameDay = sql(
    `UPDATE key_addresses SET first_seen = MIN(first_seen, ?), last_seen = MAX(last_seen, ?), requests = requests + ?
     WHERE key_id = ? AND address = ? AND seen_day = ?`,
  ).run(use.firstSeen, use.lastSeen, use.requests, use.keyId, use.address, day);
  if (changedAny(sameDay)) return true;
  return changedAny(
    sql(
      `UPDATE key_addresses SET first_seen = MIN(first_seen, ?), last_seen = MAX(last_seen, ?), requests = requests + ?, seen_day = MAX(seen_day, ?)
       WHERE key_id = ? AND address = ?`,
    ).run(use.firstSeen, use.lastSeen, use.requests, day, use.keyId, use.address),
  );
}

/** The reads and retention; writes come only through recordKeyAddresses. */
export function keyAddressRepo({ sql, transaction }: SqliteDb): KeyAddressRepo {
  return {
    async list(keyId, query) {
      const cursor = query.cursor === undefined ? null : parseAddressCursor(query.cursor);
      // A key has at most ADDRESSES_PER_KEY + 1 rows, found by the primary key's prefix and sorted here:
      // no index on (key_id, last_seen), which every usage flush would rewrite (migration 20).
      const after = cursor ? 'AND (last_seen < ? OR (last_seen = ? AND address < ?))' : '';
      const args: SQLInputValue[] = cursor ? [cursor.lastSeen, cursor.lastSeen, cursor.address] : [];
      const rows = sql(`SELECT * FROM key_addresses WHERE key_id = ? AND address <> ? ${after} ORDER BY last_seen DESC, address DESC LIMIT ?`).all(
        keyId,
        OTHER_ADDRESSES,
        ...args,
        query.limit + 1,
      );
      const items = rows.slice(0, query.limit).map(keyAddressUseFromRow);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > query.limit && last ? addressCursor(last) : null };
    },
    async others(keyId) {
      const row = sql('SELECT * FROM key_addresses WHERE key_id = ? AND address = ?').get(keyId, OTHER_ADDRESSES);
      return row ? keyAddressUseFromRow(row) : null;
    },
    async countSeenSince(keyId, at) {
      const row = sql(
        'SELECT COALESCE(SUM(address <> ?), 0) AS addresses, COALESCE(SUM(address = ?), 0) AS others FROM key_addresses WHERE key_id = ? AND last_seen >= ?',
      ).get(OTHER_ADDRESSES, OTHER_ADDRESSES, keyId, at)!;
      return { addresses: Number(row.addresses), others: Number(row.others) > 0 };
    },
    async deleteSeenBefore(at, limit) {
      // seen_day is last_seen's day: its index gives the oldest days first with no sort (ordering by
      // last_seen too sorted a whole day's rows for every part: 45 s to cut 1,000,000 rows of one day).
      return transaction(() =>
        Number(
          sql(
            `DELETE FROM key_addresses WHERE (key_id, address) IN
               (SELECT key_id, address FROM key_addresses WHERE seen_day <= ? AND last_seen < ? ORDER BY seen_day LIMIT ?)`,
          ).run(seenDayOf(at), at, limit).changes,
        ),
      );
    },
  };
}
