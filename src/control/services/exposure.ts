import type { ApiKey, AuditInput } from '../../domain/entities.ts';
import { exposureStep, type ExposureAction, type ExposureStep } from '../../domain/exposure-policy.ts';
import { keyWorks } from '../../domain/key-lifecycle.ts';
import { placeHoldsSecret } from '../../domain/secret-scan.ts';
import { ControlError, iso, requireFound, type Actor, type ControlContext } from '../context.ts';
import { auditedChange } from './audit-change.ts';
import { compromise, successorInUse, type Compromise } from './compromise.ts';
import { changedAt, keyRecordView, refusedKeyWrite } from './keys.ts';

/** What a report's `where` is recorded as when it held a secret (a key or a token): the place is lost, the secret is not kept. */
export const WHERE_WITHHELD = '(withheld: it held a secret)';

/** Where Gatehouse learnt that a key's secret is no longer secret. */
export const EXPOSURE_SOURCES = ['plain-http', 'query-string', 'scanner', 'secret-scanning', 'operator'] as const;
export type ExposureSource = (typeof EXPOSURE_SOURCES)[number];

export interface Exposure {
  source: ExposureSource;
  /** Where it was seen: a client address, a URL, a file and commit; null when not known. Never the secret. */
  where: string | null;
  /**
   * When the secret is known to have been out since (a commit's time), when earlier than the report;
   * absent or null: not known (the report's time stands). An impact report's timeline shows it.
   */
  since?: number | null;
  /** An action the reporter asks for (an operator), instead of the exposure policy's. */
  action?: ExposureAction | null;
}

export type ExposureResult = {
  key: ApiKey;
  /** true: this report is the key's first (`exposedAt` was set now). */
  first: boolean;
  /** What was done: flagged only, disabled, revoked and replaced, or revoked (a rotated key's successor replaces it). */
  step: ExposureStep;
  /** The compromise, when the step revoked the key: the replacement's secret is in it, for the reporter to hand on. */
  compromise: Compromise | null;
};

/**
 * Records that a key was exposed and applies the exposure policy (domain/exposure-policy.ts): the
 * first report sets `exposedAt`; every report is audited and announced as `key.exposed`, whose data
 * says what was done, except repeats from the gateway's own sources (a client that keeps sending its
 * key over plain HTTP is one exposure, not one per request). Revoke-and-replace is the compromise
 * operation (compromise.ts), in one transaction with the report.
 *
 * The replacement's secret goes back to the caller only: an operator's or the scanner's command shows
 * it; from the gateway or a code host's report nobody receives it, and the key's owner gets one with
 * `gatehouse keys rotate <replacement> --grace 0` (docs/incident-response.md).
 */
export async function markExposed(ctx: ControlContext, actor: Actor, existing: ApiKey, exposure: Exposure): Promise<ExposureResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await markExposedOnce(ctx, actor, existing, exposure);
    } catch (error) {
      // Another change to the key was stored after it was read (the store refuses to write over it):
      // a leak is acted on all the same, on the key as it is now.
      if (!(error instanceof ControlError && error.code === 'CONFLICT') || attempt === EXPOSURE_ATTEMPTS) throw error;
      existing = requireFound(await ctx.store.keys.get(existing.id), 'key', existing.id);
    }
  }
}

/** Tries of one report: a change that lands between each read and write is rare; three in a row means something else is wrong. */
const EXPOSURE_ATTEMPTS = 3;

async function markExposedOnce(ctx: ControlContext, actor: Actor, existing: ApiKey, exposure: Exposure): Promise<ExposureResult> {
  const first = !existing.exposedAt;
  const fromGateway = exposure.source === 'plain-http' || exposure.source === 'query-string';
  const now = ctx.clock();
  // A rotated key's successor replaces it only while it is in use: compromise() (successorInUse) issues a replacement otherwise, and the report says so.
  const successor = existing.replacedBy === null ? null : await successorInUse(ctx, existing.replacedBy, now);
  const successorWorks = existing.replacedBy === null || successor !== null;
  // One disabled stands in the key's place all the same, and the report says the line has no working key.
  const disabledSuccessor = successor && !keyWorks(successor, now) ? successor.id : null;
  const step = exposureStep(existing, { policy: ctx.incidents.exposure, first, requested: exposure.action ?? null, now, successorWorks, disabledSuccessor });
  if (!first && fromGateway && (exposure.action ?? null) === null) return { key: existing, first, step, compromise: null };
  const exposedAt = first ? now : existing.exposedAt!;
  const report = {
    source: exposure.source,
    // Reports from people are refused with a secret in where (secret-lookup.ts); a code host's or the
    // gateway's must be acted on all the same, so a where holding one is withheld, never kept.
    where: exposure.where !== null && placeHoldsSecret(exposure.where) ? WHERE_WITHHELD : exposure.where,
    at: iso(now),
    since: exposure.since === undefined || exposure.since === null ? null : iso(Math.min(exposure.since, now)),
    action: step.action,
    why: step.why,
    policy: ctx.incidents.exposure[existing.environment],
  };
  const disable = step.action === 'disable';
  const exposed: ApiKey = {
    ...existing,
    exposedAt,
    enabled: disable ? false : existing.enabled,
    updatedAt: first || disable ? changedAt(now, existing) : existing.updatedAt,
  };
  const audit: AuditInput = {
    ...actor,
    action: 'key.exposed',
    targetType: 'key',
    targetId: existing.id,
    ...auditedChange(keyRecordView, existing, exposed),
    after: { ...keyRecordView(exposed), exposure: report },
    events: [{ type: 'key.exposed', data: { key: keyRecordView(exposed), exposure: report } }],
  };
  if (step.action === 'revoke-and-replace' || step.action === 'revoke') {
    // The key is stored once, revoked; the report's entry says what it saw, the compromise's what changed.
    const entry: AuditInput = { ...audit, before: null };
    const done = await compromise(ctx, actor, existing, `exposed (${exposure.source})`, { audit: entry, exposedAt });
    return { key: done.key, first, step, compromise: done };
  }
  const changes = first || disable;
  const stored = changes ? await ctx.store.keys.update(exposed, audit, existing.updatedAt) : (await ctx.store.audit.append(audit), true);
  if (!stored) throw await refusedKeyWrite(ctx, existing.id);
  if (changes) ctx.changes.publish({ type: 'key.changed', keyId: existing.id });
  return { key: exposed, first, step, compromise: null };
}
