import type { SQLInputValue } from 'node:sqlite';
import type { ConsoleSession, ConsoleSessionRepo } from '../port.ts';
import { appendAudit } from './audit.ts';
import type { SqliteDb } from './db.ts';

export function consoleSessionRepo(db: SqliteDb): ConsoleSessionRepo {
  return {
    async create(s, audit) {
      db.transaction(() => {
        db.sql(
          'INSERT INTO console_sessions (id_hash, user_id, sealed_tokens, access_expires_at, created_at, last_seen_at, expires_at, idle_expires_at) VALUES (?,?,?,?,?,?,?,?)',
        ).run(s.idHash, s.userId, s.sealedTokens, s.accessExpiresAt, s.createdAt, s.lastSeenAt, s.expiresAt, s.idleExpiresAt);
        appendAudit(db, audit);
      });
    },
    async get(idHash, now) {
      const row = db.sql('SELECT * FROM console_sessions WHERE id_hash = ? AND expires_at > ? AND idle_expires_at > ?').get(idHash, now, now);
      return row ? fromRow(row) : null;
    },
    async touch(idHash, lastSeenAt, idleExpiresAt) {
      const r = db
        .sql('UPDATE console_sessions SET last_seen_at = ?, idle_expires_at = MIN(?, expires_at) WHERE id_hash = ?')
        .run(lastSeenAt, idleExpiresAt, idHash);
      return Number(r.changes) > 0;
    },
    async replaceTokens(idHash, expectedSealed, sealedTokens, accessExpiresAt) {
      const r = db
        .sql('UPDATE console_sessions SET sealed_tokens = ?, access_expires_at = ?, refresh_claimed_until = 0 WHERE id_hash = ? AND sealed_tokens = ?')
        .run(sealedTokens, accessExpiresAt, idHash, expectedSealed);
      return Number(r.changes) > 0;
    },
    async claimRefresh(idHash, expectedSealed, now, until) {
      const r = db
        .sql('UPDATE console_sessions SET refresh_claimed_until = ? WHERE id_hash = ? AND sealed_tokens = ? AND refresh_claimed_until <= ?')
        .run(until, idHash, expectedSealed, now);
      return Number(r.changes) > 0;
    },
    async releaseRefresh(idHash, until) {
      db.sql('UPDATE console_sessions SET refresh_claimed_until = 0 WHERE id_hash = ? AND refresh_claimed_until = ?').run(idHash, until);
    },
    async delete(idHash, audit) {
      return db.transaction(() => {
        const gone = Number(db.sql('DELETE FROM console_sessions WHERE id_hash = ?').run(idHash).changes) > 0;
        if (gone && audit) appendAudit(db, audit);
        return gone;
      });
    },
    async deleteForUser(userId) {
      return Number(db.sql('DELETE FROM console_sessions WHERE user_id = ?').run(userId).changes);
    },
    async listForUser(userId, now) {
      return db
        .sql('SELECT * FROM console_sessions WHERE user_id = ? AND expires_at > ? AND idle_expires_at > ? ORDER BY created_at DESC, id_hash DESC')
        .all(userId, now, now)
        .map(fromRow);
    },
    async deleteExpired(now) {
      return Number(db.sql('DELETE FROM console_sessions WHERE expires_at <= ? OR idle_expires_at <= ?').run(now, now).changes);
    },
  };
}

function fromRow(row: Record<string, SQLInputValue>): ConsoleSession {
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
