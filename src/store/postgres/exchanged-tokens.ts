import { exchangedTokenFromRow } from '../rows.ts';
import type { ExchangedTokenRepo, Revocation } from '../port.ts';
import { appendAudit } from './audit.ts';
import type { PgDb, Queryable } from './db.ts';

/** Cursor: `<issuedAt>_<jti>` of the last token of a page (newest first), as the SQLite adapter writes it. */
const CURSOR = /^(\d{1,16})_(.+)$/;

export function exchangedTokenRepo(db: PgDb): ExchangedTokenRepo {
  return {
    async record(t, audit) {
      await db.transaction(async (tx) => {
        await tx.query(
          'INSERT INTO exchanged_tokens (jti, key_id, client_id, audience, scope, issued_at, expires_at, revoked_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)',
          [t.jti, t.keyId, t.clientId, t.audience, t.scope, t.issuedAt, t.expiresAt, t.revokedAt],
        );
        await appendAudit(tx, audit, db.clock());
      });
    },
    async listByKey(keyId, query) {
      const cursor = query.cursor === undefined ? null : CURSOR.exec(query.cursor);
      const { rows } = cursor
        ? await db.query('SELECT * FROM exchanged_tokens WHERE key_id = $1 AND (issued_at, jti) < ($2, $3) ORDER BY issued_at DESC, jti DESC LIMIT $4', [
            keyId,
            Number(cursor[1]),
            cursor[2],
            query.limit + 1,
          ])
        : await db.query('SELECT * FROM exchanged_tokens WHERE key_id = $1 ORDER BY issued_at DESC, jti DESC LIMIT $2', [keyId, query.limit + 1]);
      const items = rows.slice(0, query.limit).map(exchangedTokenFromRow);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > query.limit && last ? `${last.issuedAt}_${last.jti}` : null };
    },
    async deleteExpiredBefore(at, limit) {
      const { rowCount } = await db.query(
        'DELETE FROM exchanged_tokens WHERE jti IN (SELECT jti FROM exchanged_tokens WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)',
        [at, limit],
      );
      return rowCount;
    },
  };
}

/**
 * Inside a compromise's transaction: every token exchanged from the key and still live at `at` goes
 * on the revocation list (until its own expiry) and is marked revoked. Returns their ids.
 */
export async function revokeExchangedTokens(tx: Queryable, keyId: string, at: number): Promise<string[]> {
  const { rows } = await tx.query(
    'UPDATE exchanged_tokens SET revoked_at = $2 WHERE key_id = $1 AND expires_at > $2 AND revoked_at IS NULL RETURNING jti, expires_at, issued_at',
    [keyId, at],
  );
  const live = rows.sort((x, y) => Number(x.issued_at) - Number(y.issued_at) || (String(x.jti) < String(y.jti) ? -1 : 1));
  if (!live.length) return [];
  const kind: Revocation['kind'] = 'token';
  await tx.query(
    `INSERT INTO revocations (kind, id, revoked_at, expires_at) SELECT $1, t.jti, $2, t.expires_at FROM unnest($3::text[], $4::bigint[]) AS t(jti, expires_at)
     ON CONFLICT (kind, id) DO UPDATE SET expires_at = GREATEST(revocations.expires_at, excluded.expires_at)`,
    [kind, at, live.map((r) => String(r.jti)), live.map((r) => Number(r.expires_at))],
  );
  return live.map((r) => String(r.jti));
}
