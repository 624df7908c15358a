import type { RotationRule } from '../../domain/rotation.ts';
import type { KeyRotationRepo, RotationCandidate } from '../port.ts';
import type { PgDb, Row } from './db.ts';
import { recordEvents } from './events.ts';
import { keyFromRow } from '../rows.ts';
import { HAS_ROTATION_RULE, LAST_USE_COLUMNS, LAST_USE_JOIN } from './keys.ts';

/** The rotation scan's reads and writes, with the SQLite adapter's rules (store/sqlite/key-rotation.ts). */
export function keyRotationRepo(db: PgDb): KeyRotationRepo {
  return {
    async scan(cursor, limit) {
      // The last id of this part: the scan reads `limit` keys by primary key, whatever their rules.
      // A rule stored as JSON null is none (jsonb 'null' is not SQL NULL): the policy's applies, as on SQLite.
      const last = (await db.query('SELECT id FROM keys WHERE id > $1 ORDER BY id LIMIT 1 OFFSET $2', [cursor, limit - 1])).rows[0];
      const upTo = last ? String(last.id) : null;
      const { rows } = await db.query(
        `SELECT keys.data, ${LAST_USE_COLUMNS}, n.due_at, n.noticed_at,
           COALESCE(NULLIF(keys.data->'rotation', 'null'::jsonb),
             (SELECT NULLIF(policies.data->'rotation', 'null'::jsonb) FROM policies WHERE policies.id = keys.policy_id)) AS rule
         FROM keys ${LAST_USE_JOIN} LEFT JOIN key_rotation_notices n ON n.key_id = keys.id
         WHERE keys.id > $1 ${upTo === null ? '' : 'AND keys.id <= $2'} AND keys.revoked_at IS NULL AND ${HAS_ROTATION_RULE}
         ORDER BY keys.id`,
        upTo === null ? [cursor] : [cursor, upTo],
      );
      return { items: rows.map(candidateFromRow), nextCursor: upTo };
    },
    async recordNotice(keyId, notice, event) {
      return db.transaction(async (tx) => {
        // A key deleted since it was read is not announced (and its row would break the reference). The
        // key's row is locked as the foreign key's check would: a deletion under way is waited for and
        // then finds it gone (false), where the check would fail after it (a conflict).
        const written = await tx.query(
          `INSERT INTO key_rotation_notices (key_id, due_at, noticed_at) SELECT $1::text, $2::bigint, $3::bigint WHERE EXISTS (SELECT 1 FROM keys WHERE id = $1 FOR KEY SHARE)
           ON CONFLICT (key_id) DO UPDATE SET due_at = excluded.due_at, noticed_at = excluded.noticed_at`,
          [keyId, notice.dueAt, notice.at],
        );
        if (written.rowCount === 0) return false;
        return (await recordEvents(tx, [event], notice.at)).length === 1;
      });
    },
    async draining(now, query) {
      const [afterExpiry, afterId] = parseCursor(query.cursor);
      const { rows } = await db.query(
        `SELECT keys.data, ${LAST_USE_COLUMNS}, expires_at FROM keys ${LAST_USE_JOIN}
         WHERE retire_quiet_ms IS NOT NULL AND expires_at > $1 AND (expires_at, keys.id) > ($2, $3) AND revoked_at IS NULL
         ORDER BY expires_at, keys.id LIMIT $4`,
        [now, afterExpiry, afterId, query.limit + 1],
      );
      const items = rows.slice(0, query.limit);
      const lastRow = items.at(-1);
      const keys = items.map(keyFromRow);
      const lastKey = keys.at(-1);
      return { items: keys, nextCursor: rows.length > query.limit && lastRow && lastKey ? `${Number(lastRow.expires_at)}_${lastKey.id}` : null };
    },
  };
}

/** `<expiresAt>_<id>`, or nothing: from the start. */
function parseCursor(cursor: string | undefined): [number, string] {
  if (!cursor) return [0, ''];
  const at = cursor.indexOf('_');
  return [Number(cursor.slice(0, at)), cursor.slice(at + 1)];
}

function candidateFromRow(row: Row): RotationCandidate {
  return {
    key: keyFromRow(row),
    rule: row.rule as RotationRule,
    notice: row.due_at === null ? null : { dueAt: Number(row.due_at), at: Number(row.noticed_at) },
  };
}
