import { createHash } from 'node:crypto';
import type { ControlContext } from '../context.ts';

/**
 * Reports already acted on, so that one sent again (GitHub's retry, or anyone replaying the signed
 * bytes: the partner format has no nonce or timestamp) is answered without a second audit entry or
 * `key.exposed` event. A report is its signed body: the same bytes are the same report, while a new
 * sighting of the same token (another URL or commit) is another body, and news.
 *
 * Kept with the authorization server's expiring records (as portal invitations are), under the
 * body's SHA-256: not a credential, and the partner format already answers with the tokens' SHA-256.
 * Their expiry is swept here, as each report is recorded: the authorization server's housekeeping,
 * which deletes expired records every minute, runs only with a master key, and the receiver runs
 * without one too, where nothing else would ever delete a report.
 */
const MODEL = 'SecretScanReport';
/** Long past any retry; a replay after it is audited again, and still acts on nothing twice (exposure.ts). */
const REMEMBERED_MS = 90 * 24 * 3_600_000;

export const reportDigest = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

export async function handledBefore(ctx: ControlContext, digest: string): Promise<boolean> {
  return (await ctx.store.oidc.find(MODEL, digest, ctx.clock())) !== null;
}

/**
 * Recorded once the report has been acted on, never before: a report that failed half way (the store
 * away) is acted on when it comes again. Two copies racing each other may both be recorded, as before.
 */
export async function recordHandled(ctx: ControlContext, digest: string): Promise<void> {
  const now = ctx.clock();
  await ctx.store.oidc.upsert(MODEL, digest, { handledAt: now }, now + REMEMBERED_MS);
  // Expired records are garbage to every model (reads skip them): the same delete as the housekeeping's.
  await ctx.store.oidc.deleteExpired(now);
}
