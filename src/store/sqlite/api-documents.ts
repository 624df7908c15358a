import type { Store } from '../port.ts';
import { appendAudit } from './audit.ts';
import type { SqliteDb } from './db.ts';

export function apiDocumentRepo(db: SqliteDb): Store['apiDocuments'] {
  return {
    async put(d, audit) {
      db.transaction(() => {
        db.sql(
          'INSERT INTO api_documents (api_id, content_type, body, updated_at) VALUES (?,?,?,?) ON CONFLICT (api_id) DO UPDATE SET content_type = excluded.content_type, body = excluded.body, updated_at = excluded.updated_at',
        ).run(d.apiId, d.contentType, d.body, d.updatedAt);
        appendAudit(db, audit);
      });
    },
    async get(apiId) {
      const row = db.sql('SELECT * FROM api_documents WHERE api_id = ?').get(apiId);
      return row ? { apiId: String(row.api_id), contentType: String(row.content_type), body: String(row.body), updatedAt: Number(row.updated_at) } : null;
    },
    async which(apiIds) {
      if (apiIds.length === 0) return new Set();
      const rows = db.sql(`SELECT api_id FROM api_documents WHERE api_id IN (${apiIds.map(() => '?').join(',')})`).all(...apiIds);
      return new Set(rows.map((r) => String(r.api_id)));
    },
  };
}
