import type { ApiKey, AuditInput } from '../../domain/entities.ts';
import { iso, notFound, type Actor, type ControlContext } from '../context.ts';
import { auditedChange } from './audit-change.ts';
import { keyRecordView } from './keys.ts';

/** Where Gatehouse learnt that a key's secret is no longer secret. */
export const EXPOSURE_SOURCES = ['plain-http', 'query-string', 'scanner', 'secret-scanning', 'operator'] as const;
export type ExposureSource = (typeof EXPOSURE_SOURCES)[number];

export interface Exposure {
  source: ExposureSource;
  /** Where it was seen: a client address, a URL, a file and commit; null when not known. Never the secret. */
  where: string | null;
}

export type ExposureResult = {
  key: ApiKey;
  /** true: this report is the key's first (`exposedAt` was set now). */
  first: boolean;
};

/**
 * Records that a key was exposed: `exposedAt` is set on the first report and kept after; every
 * report is audited and announced as `key.exposed`, except repeats from the gateway's own sources
 * (a client that keeps sending its key over plain HTTP is one exposure, not one per request).
 */
export async function markExposed(ctx: ControlContext, actor: Actor, existing: ApiKey, exposure: Exposure): Promise<ExposureResult> {
  const first = !existing.exposedAt;
  const fromGateway = exposure.source === 'plain-http' || exposure.source === 'query-string';
  if (!first && fromGateway) return { key: existing, first };
  const now = ctx.clock();
  const key: ApiKey = first ? { ...existing, exposedAt: now, updatedAt: now } : existing;
  const report = { source: exposure.source, where: exposure.where, at: iso(now) };
  const audit: AuditInput = {
    ...actor,
    action: 'key.exposed',
    targetType: 'key',
    targetId: key.id,
    ...auditedChange(keyRecordView, existing, key),
    after: { ...keyRecordView(key), exposure: report },
    events: [{ type: 'key.exposed', data: { key: keyRecordView(key), exposure: report } }],
  };
  const stored = first ? await ctx.store.keys.update(key, audit) : (await ctx.store.audit.append(audit), true);
  if (!stored) throw notFound('key', key.id);
  if (first) ctx.changes.publish({ type: 'key.changed', keyId: key.id });
  return { key, first };
}
