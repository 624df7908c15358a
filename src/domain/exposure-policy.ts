import type { ApiKey } from './entities.ts';
import type { Environment } from './key-format.ts';
import { keyState } from './key-lifecycle.ts';

/**
 * What Gatehouse does when it learns a key's secret is out (docs/incident-response.md):
 * - `flag`: record it (exposedAt, audit, `key.exposed`); the key keeps working;
 * - `disable`: and stop the key at once; an operator can enable it again after a false positive;
 * - `revoke-and-replace`: and revoke it with every token exchanged from it, issuing a replacement
 *   with the same settings (the compromise operation); irreversible.
 */
export const EXPOSURE_ACTIONS = ['flag', 'disable', 'revoke-and-replace'] as const;
export type ExposureAction = (typeof EXPOSURE_ACTIONS)[number];

/** The action per environment (config `exposure`). */
export type ExposurePolicy = Readonly<Record<Environment, ExposureAction>>;

/**
 * Live keys are disabled: abuse stops at once, and a false positive (a test fixture, a revoked key
 * pasted in a ticket) costs an `enable`, where a revocation could not be undone and would break every
 * client until it has the new secret. Test keys are revoked and replaced: they reach no real data,
 * so an irreversible action costs nothing, and a leaked test key is not worth a person's decision.
 */
export const DEFAULT_EXPOSURE_POLICY: ExposurePolicy = { live: 'disable', test: 'revoke-and-replace' };

/** What is done for one report: the action, or `revoke` (a rotated key in its grace period: its successor exists). */
export type ExposureStep = { action: 'flag' | 'disable' | 'revoke-and-replace' | 'revoke'; why: string };

/**
 * The step for a report about `key`: the operator's `requested` action, else on the key's first
 * report the policy's for its environment, else `flag` (a key is acted on once: an operator who
 * enabled it again after a false positive is not overruled by the next scan of the same file).
 * Publishable keys are public by design (embedded in web pages): flagged, never acted on, unless an
 * operator asks. A key that no longer works, or a disabled one, needs no step.
 */
export function exposureStep(
  key: Pick<ApiKey, 'environment' | 'publishable' | 'enabled' | 'revokedAt' | 'expiresAt' | 'replacedBy'>,
  /**
   * `successorWorks`: false when a rotated key's successor was revoked, expired or deleted since (then it
   * replaces nothing). `disabledSuccessor`: the id of the line's successor in use that is disabled.
   */
  o: { policy: ExposurePolicy; first: boolean; requested: ExposureAction | null; now: number; successorWorks?: boolean; disabledSuccessor?: string | null },
): ExposureStep {
  const state = keyState(key, o.now);
  if (state === 'revoked' || state === 'expired' || state === 'rotated') return { action: 'flag', why: `the key is ${state}: it no longer works` };
  let action: ExposureAction;
  let why: string;
  if (o.requested !== null) [action, why] = [o.requested, 'asked for by the report'];
  else if (!o.first) [action, why] = ['flag', 'the key was reported before; the policy acts on the first report only'];
  else if (key.publishable) [action, why] = ['flag', 'publishable keys are public by design; the policy does not act on them'];
  else [action, why] = [o.policy[key.environment], `the exposure policy for ${key.environment} keys`];
  if (action === 'disable' && state === 'disabled') return { action: 'flag', why: 'the key is disabled already' };
  if (action === 'revoke-and-replace' && state === 'rotating' && o.successorWorks === false)
    return { action, why: `${why}; the key was rotated, but its successor no longer works, so a replacement is issued` };
  if (action === 'revoke-and-replace' && state === 'rotating' && o.disabledSuccessor)
    return { action: 'revoke', why: `${why}; the key was rotated, and ${disabledSuccessorWhy(o.disabledSuccessor)}` };
  if (action === 'revoke-and-replace' && state === 'rotating')
    return { action: 'revoke', why: `${why}; the key was rotated, so its successor is its replacement` };
  return { action, why };
}

/**
 * A rotated key's line whose successor is disabled: a compromise revokes the key and issues no
 * replacement beside that successor (enabled again, it would make two working keys of one line).
 */
export const disabledSuccessorWhy = (id: string): string =>
  `its successor ${id} is disabled: no key of its line works, and none is issued beside it (it could be enabled again)`;
