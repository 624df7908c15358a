import type { ConsoleSession, ConsoleSessionRepo } from '../port.ts';
import { appendAudit } from './audit.ts';
import type { PgDb, Row } from './db.ts';

export function consoleSessionRepo(db: PgDb): ConsoleSessionRepo {
  return {
    async create(s, audit) {
      await db.transaction(async (tx) => {
        await tx.query(
          'INSERT INTO console_sessions (id_hash, user_id, sealed_tokens, access_expires_at, created_at, last_seen_at, expires_at, idle_expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)',
          [s.idHash, s.userId, s.sealedTokens, s.accessExpiresAt, s.createdAt, s.lastSeenAt, s.expiresAt, s.idleExpiresAt],
        );
        await appendAudit(tx, audit, db.clock());
      });
    },
    async get(idHash, now) {
      const { rows } = await db.query('SELECT * FROM console_sessions WHERE id_hash = $1 AND expires_at > $2 AND idle_expires_at > $2', [idHash, now]);
      return rows[0] ? fromRow(rows[0]) : null;
    },
    async touch(idHash, lastSeenAt, idleExpiresAt) {
      const r = await db.query('UPDATE console_sessions SET last_seen_at = $1, idle_expires_at = LEAST($2::bigint, expires_at) WHERE id_hash = $3', [
        lastSeenAt,
        idleExpiresAt,
        idHash,
      ]);
      return r.rowCount > 0;
    },
    async replaceTokens(idHash, expectedSealed, sealedTokens, accessExpiresAt) {
      const r = await db.query(
        'UPDATE console_sessions SET sealed_tokens = $1, access_expires_at = $2, refresh_claimed_until = 0 WHERE id_hash = $3 AND sealed_tokens = $4',
        [sealedTokens, accessExpiresAt, idHash, expectedSealed],
      );
      return r.rowCount > 0;
    },
    async claimRefresh(idHash, expectedSealed, now, until) {
      // One statement: the row lock makes a second node's UPDATE re-check the claim it just set (READ COMMITTED).
      const r = await db.query(
        'UPDATE console_sessions SET refresh_claimed_until = $1 WHERE id_hash = $2 AND sealed_tokens = $3 AND refresh_claimed_until <= $4',
        [until, idHash, expectedSealed, now],
      );
      return r.rowCount > 0;
    },
    async releaseRefresh(idHash, until) {
      await db.query('UPDATE console_sessions SET refresh_claimed_until = 0 WHERE id_hash = $1 AND refresh_claimed_until = $2', [idHash, until]);
    },
    async delete(idHash, audit) {
      return db.transaction(async (tx) => {
        const r = await tx.query('DELETE FROM console_sessions WHERE id_hash = $1', [idHash]);
        const gone = r.rowCount > 0;
        if (gone && audit) await appendAudit(tx, audit, db.clock());
        return gone;
      });
    },
    async deleteForUser(userId) {
      return (await db.query('DELETE FROM console_sessions WHERE user_id = $1', [userId])).rowCount;
    },
    async listForUser(userId, now) {
      const { rows } = await db.query(
        'SELECT * FROM console_sessions WHERE user_id = $1 AND expires_at > $2 AND idle_expires_at > $2 ORDER BY created_at DESC, id_hash DESC',
        [userId, now],
      );
      return rows.map(fromRow);
    },
    async deleteExpired(now) {
      return (await db.query('DELETE FROM console_sessions WHERE expires_at <= $1 OR idle_expires_at <= $1', [now])).rowCount;
    },
  };
}

function fromRow(row: Row): ConsoleSession {
  return {
    idHash: String(row.id_hash),
    userId: String(row.user_id),
    sealedTokens: String(row.sealed_tokens),
    accessExpiresAt: Number(row.access_expires_at),
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    expiresAt: Number(row.expires_at),
    idleExpiresAt: Number(row.idle_expires_at),
  };
}
