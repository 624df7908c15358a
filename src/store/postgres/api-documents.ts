import type { Store } from '../port.ts';
import { appendAudit } from './audit.ts';
import type { PgDb } from './db.ts';

export function apiDocumentRepo(db: PgDb): Store['apiDocuments'] {
  return {
    async put(d, audit) {
      await db.transaction(async (tx) => {
        await tx.query(
          'INSERT INTO api_documents (api_id, content_type, body, updated_at) VALUES ($1,$2,$3,$4) ON CONFLICT (api_id) DO UPDATE SET content_type = excluded.content_type, body = excluded.body, updated_at = excluded.updated_at',
          [d.apiId, d.contentType, d.body, d.updatedAt],
        );
        await appendAudit(tx, audit, db.clock());
      });
    },
    async get(apiId) {
      const { rows } = await db.query('SELECT * FROM api_documents WHERE api_id = $1', [apiId]);
      const row = rows[0];
      return row ? { apiId: String(row.api_id), contentType: String(row.content_type), body: String(row.body), updatedAt: Number(row.updated_at) } : null;
    },
    async which(apiIds) {
      if (apiIds.length === 0) return new Set();
      const { rows } = await db.query('SELECT api_id FROM api_documents WHERE api_id = ANY($1)', [apiIds]);
      return new Set(rows.map((r) => String(r.api_id)));
    },
  };
}
