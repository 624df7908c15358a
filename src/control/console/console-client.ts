import { hkdfSync } from 'node:crypto';
import type { OAuthClient } from '../../domain/entities.ts';
import { hashesEqual, hashKey } from '../../domain/key-hash.ts';
import { ConflictError } from '../../store/port.ts';
import type { ControlContext } from '../context.ts';

/** The web app's OAuth client: one fixed id on every node, so nodes sharing a store share it. */
export const CONSOLE_CLIENT_ID = 'cli_000000000000000000000000c0de';

/**
 * The backend-for-frontend is a confidential client (RFC 6749 §2.1; draft-ietf-oauth-browser-based-apps
 * §6.1): it runs on the server, so it can keep a secret, and a stolen authorization code cannot be
 * redeemed without it (PKCE S256 as well). The secret is derived from the master key (HKDF), never
 * stored or shown: the store keeps only its keyed hash, as for every client, and every node derives
 * the same one. Registered, or put right (redirect URI, secret under the current pepper), at start.
 */
export async function ensureConsoleClient(ctx: ControlContext, masterKey: Buffer, redirectUri: string): Promise<{ id: string; secret: string }> {
  const secret = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'gatehouse console client secret v1', 32)).toString('base64url');
  const pepper = ctx.peppers[0]!;
  const now = ctx.clock();
  const wanted = (existing: OAuthClient | null): OAuthClient => ({
    id: CONSOLE_CLIENT_ID,
    name: 'Gatehouse web app',
    type: 'confidential',
    secretHash: hashKey(secret, pepper),
    pepperId: pepper.id,
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [],
    grantTypes: ['authorization_code', 'refresh_token'],
    scopes: [],
    apiIds: [],
    // Gatehouse's own app: no consent page (the user is signing in to Gatehouse itself).
    firstParty: true,
    dpopBound: false,
    exchangeAppId: null,
    accessTokenTtlSeconds: null,
    disabled: existing?.disabled ?? false,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  });
  const audit = (action: string, before: OAuthClient | null, after: OAuthClient) => ({
    actor: 'system',
    requestId: null,
    action: `client.${action}`,
    targetType: 'client' as const,
    targetId: CONSOLE_CLIENT_ID,
    before: before && { redirectUris: before.redirectUris },
    after: { name: after.name, redirectUris: after.redirectUris, firstParty: true },
  });
  const existing = await ctx.store.clients.get(CONSOLE_CLIENT_ID);
  if (!existing) {
    const client = wanted(null);
    try {
      await ctx.store.clients.create(client, audit('created', null, client));
    } catch (error) {
      // Another node registered it at the same moment: theirs is the same client.
      if (!(error instanceof ConflictError)) throw error;
    }
  } else {
    const secretKnown = existing.secretHash !== null && ctx.peppers.some((p) => hashesEqual(existing.secretHash!, hashKey(secret, p)));
    const sameRedirect = existing.redirectUris.length === 1 && existing.redirectUris[0] === redirectUri;
    if (!secretKnown || !sameRedirect || !existing.grantTypes.includes('refresh_token')) {
      const client = wanted(existing);
      await ctx.store.clients.update(client, audit('updated', existing, client));
    }
  }
  ctx.changes.publish({ type: 'client.changed', clientId: CONSOLE_CLIENT_ID });
  return { id: CONSOLE_CLIENT_ID, secret };
}
