import { keyAddressUseFromRow } from '../rows.ts';
import type { SQLInputValue } from 'node:sqlite';
import { ADDRESSES_PER_KEY, OTHER_ADDRESSES, type KeyAddressRepo, type UsageBatch } from '../port.ts';
import type { SqliteDb } from './db.ts';
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
    let known = exists.get(row.keyId);
    if (known === undefined) exists.set(row.keyId, (known = sql('SELECT 1 FROM keys WHERE id = ?').get(row.keyId) !== undefined));
    if (!known) continue;
    let address = row.address;
    if (address !== OTHER_ADDRESSES && sql('SELECT 1 FROM key_addresses WHERE key_id = ? AND address = ?').get(row.keyId, address) === undefined) {
      const count =
        kept.get(row.keyId) ?? Number(sql('SELECT COUNT(*) AS n FROM key_addresses WHERE key_id = ? AND address <> ?').get(row.keyId, OTHER_ADDRESSES)!.n);
      if (count >= cap) address = OTHER_ADDRESSES;
      kept.set(row.keyId, count >= cap ? count : count + 1);
    }
    sql(
      `INSERT INTO key_addresses (key_id, address, first_seen, last_seen, requests) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key_id, address) DO UPDATE SET first_seen = MIN(first_seen, excluded.first_seen),
         last_seen = MAX(last_seen, excluded.last_seen), requests = requests + excluded.requests`,
    ).run(row.keyId, address, row.firstSeen, row.lastSeen, row.requests);
  }
}

/** The reads and retention; writes come only through recordKeyAddresses. */
export function keyAddressRepo({ sql, transaction }: SqliteDb): KeyAddressRepo {
  return {
    async list(keyId, query) {
      const cursor = query.cursor === undefined ? null : parseAddressCursor(query.cursor);
      // (key_id, last_seen) is the index, and a WITHOUT ROWID table's index ends with the primary key's
      // other column: newest first, ties by address descending, is one walk of it.
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
      return transaction(() =>
        Number(
          sql(
            'DELETE FROM key_addresses WHERE (key_id, address) IN (SELECT key_id, address FROM key_addresses WHERE last_seen < ? ORDER BY last_seen LIMIT ?)',
          ).run(at, limit).changes,
        ),
      );
    },
  };
}
