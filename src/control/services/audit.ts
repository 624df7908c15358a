import type { AuditEntry } from '../../domain/entities.ts';
import type { AuditQuery, Page } from '../../store/port.ts';
import type { AuditEntryView } from '../admin/responses.ts';
import { iso, type ControlContext } from '../context.ts';

/** An audit entry as the admin API shows it: the time in RFC 3339. */
export function auditEntryView(entry: AuditEntry): AuditEntryView {
  return { ...entry, actorName: entry.actorName ?? null, at: iso(entry.at)! };
}

/** Reading the audit log; entries are written by the store with each change. */
export const auditService = {
  /** Newest first. */
  async list(ctx: ControlContext, query: AuditQuery): Promise<Page<AuditEntryView>> {
    const page = await ctx.store.audit.list(query);
    return { items: page.items.map(auditEntryView), nextCursor: page.nextCursor };
  },
};
