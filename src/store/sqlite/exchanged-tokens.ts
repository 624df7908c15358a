import { exchangedTokenFromRow } from '../rows.ts';
import type { ExchangedTokenRepo, Revocation } from '../port.ts';
import { appendAudit } from './audit.ts';
import type { SqliteDb } from './db.ts';

/** Cursor: `<issuedAt>_<jti>` of the last token of a page (newest first). */
const CURSOR = /^(\d{1,16})_(.+)$/;

export function exchangedTokenRepo(db: SqliteDb): ExchangedTokenRepo {
  return {
    async record(t, audit) {
      db.transaction(() => {
        db.sql('INSERT INTO exchanged_tokens (jti, key_id, client_id, audience, scope, issued_at, expires_at, revoked_at) VALUES (?,?,?,?,?,?,?,?)').run(
          t.jti,
          t.keyId,
          t.clientId,
          t.audience,
          t.scope,
          t.issuedAt,
          t.expiresAt,
          t.revokedAt,
        );
        appendAudit(db, audit);
      });
    },
    async listByKey(keyId, query) {
      const cursor = query.cursor === undefined ? null : CURSOR.exec(query.cursor);
      const rows = cursor
        ? db
            .sql('SELECT * FROM exchanged_tokens WHERE key_id = ? AND (issued_at < ? OR (issued_at = ? AND jti < ?)) ORDER BY issued_at DESC, jti DESC LIMIT ?')
            .all(keyId, Number(cursor[1]), Number(cursor[1]), cursor[2]!, query.limit + 1)
        : db.sql('SELECT * FROM exchanged_tokens WHERE key_id = ? ORDER BY issued_at DESC, jti DESC LIMIT ?').all(keyId, query.limit + 1);
      const items = rows.slice(0, query.limit).map(exchangedTokenFromRow);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > query.limit && last ? `${last.issuedAt}_${last.jti}` : null };
    },
    async deleteExpiredBefore(at, limit) {
      const result = db.transaction(() =>
        db.sql('DELETE FROM exchanged_tokens WHERE jti IN (SELECT jti FROM exchanged_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ?)').run(at, limit),
      );
      return Number(result.changes);
    },
  };
}

/**
 * Inside a compromise's transaction: every token exchanged from the key and still live at `at` goes
 * on the revocation list (until its own expiry) and is marked revoked. Returns their ids.
 */
export function revokeExchangedTokens(db: SqliteDb, keyId: string, at: number): string[] {
  const live = db
    .sql('SELECT jti, expires_at FROM exchanged_tokens WHERE key_id = ? AND expires_at > ? AND revoked_at IS NULL ORDER BY issued_at, jti')
    .all(keyId, at);
  const add = db.sql(
    'INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES (?,?,?,?) ON CONFLICT (kind, id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
  );
  const mark = db.sql('UPDATE exchanged_tokens SET revoked_at = ? WHERE jti = ?');
  const kind: Revocation['kind'] = 'token';
  return live.map((row) => {
    const jti = String(row.jti);
    add.run(kind, jti, at, Number(row.expires_at));
    mark.run(at, jti);
    return jti;
  });
}
