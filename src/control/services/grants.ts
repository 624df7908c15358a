import { iso, type Actor, type ControlContext } from '../context.ts';
import type { UserGrantsView } from '../admin/identity-responses.ts';
import { requireIdentity } from './users.ts';

/** oidc-provider models that hang off a grant; revoking the grant deletes all of them. */
const GRANT_MODELS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'] as const;

export interface GrantView {
  id: string;
  clientId: string;
  scopes: string[];
  resources: Record<string, string>;
  expiresAt: string | null;
}

const seconds = (v: unknown): number | null => (typeof v === 'number' ? v * 1000 : null);

/** The OpenID scopes stored in a grant (oidc-provider's `openid.scope`); its API scopes are per API, in `resources`. */
const openidScopes = (grant: Record<string, unknown>): string[] => {
  const scope = (grant.openid as { scope?: unknown } | undefined)?.scope;
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
};

const withOffline = (scopes: string[], offline: boolean): string[] => (offline && !scopes.includes('offline_access') ? [...scopes, 'offline_access'] : scopes);

/**
 * A user's grants (what they allowed a client) and sign-in sessions, and revoking them. Revoking a
 * grant deletes its refresh tokens and codes and puts it on the revocation list, so JWT access
 * tokens issued under it are refused by introspection and by the gateway from then on.
 */
export const grantsService = {
  async listForUser(ctx: ControlContext, userId: string): Promise<UserGrantsView> {
    const now = ctx.clock();
    const records = requireIdentity(ctx).oidcRecords;
    // Listed too: a grant past its end (its `expiresAt`) is kept while access tokens issued under it
    // may live (oidc-adapter.ts), so it can still be revoked, as the impact report lists it.
    const grants = await records.listByAccount('Grant', userId, now);
    const sessions = await records.listByAccount('Session', userId, now);
    // A live (unexpired, unused) refresh token is offline access (OpenID Connect Core §11: the client
    // reaches the user's APIs while they are away). Gatehouse issues refresh tokens by the client's grant
    // types, not by the offline_access scope, and oidc-provider keeps that scope in the grant only when
    // asked for with prompt=consent: the grant's stored scopes would say `openid` alone for a client that
    // can go on refreshing for weeks. Shown from the refresh tokens, as what the grant gives.
    const refreshTokens = await records.listByAccount('RefreshToken', userId, now);
    const offline = new Set(refreshTokens.filter((r) => r.payload.consumed === undefined).map((r) => r.payload.grantId));
    return {
      // A grant is stored under its own id (a handle, not a secret).
      grants: grants.map(({ ref: id, payload }): GrantView => ({
        id,
        clientId: String(payload.clientId),
        scopes: withOffline(openidScopes(payload), offline.has(id)),
        resources: (payload.resources as Record<string, string> | undefined) ?? {},
        expiresAt: iso(seconds(payload.exp)),
      })),
      // A session's id is its cookie and is not kept; its uid names it.
      sessions: sessions.map(({ ref, payload }) => ({
        id: String(payload.uid ?? ref),
        signedInAt: iso(seconds(payload.loginTs)),
        amr: (payload.amr as string[] | undefined) ?? [],
        expiresAt: iso(seconds(payload.exp)),
      })),
    };
  },

  async revokeGrant(ctx: ControlContext, actor: Actor, grantId: string, reason = 'admin'): Promise<void> {
    const now = ctx.clock();
    const records = requireIdentity(ctx).oidcRecords;
    // One transaction: a failure part-way leaves the grant whole, to be revoked again, never half revoked.
    await records.revokeGrant({
      grantId,
      models: GRANT_MODELS,
      withGrant: true,
      revokedAt: now,
      expiresAt: now + (ctx.identity?.maxTokenLifetimeMs ?? 86_400_000),
    });
    await ctx.store.audit.append({ ...actor, action: 'grant.revoked', targetType: 'grant', targetId: grantId, before: null, after: { reason } });
    ctx.changes.publish({ type: 'token.revoked', kind: 'grant', id: grantId });
  },

  /** Signs the user out everywhere: every grant revoked, every session ended. */
  async revokeAllForUser(ctx: ControlContext, actor: Actor, userId: string): Promise<{ grants: number; sessions: number }> {
    const now = ctx.clock();
    const records = requireIdentity(ctx).oidcRecords;
    const grants = await records.listByAccount('Grant', userId, now);
    for (const grant of grants) await grantsService.revokeGrant(ctx, actor, grant.ref, 'user signed out everywhere');
    const sessions = await records.listByAccount('Session', userId, now);
    for (const session of sessions) await records.destroyStored('Session', session.ref);
    // The web app's sessions too (control/console/): their tokens' grants are revoked above.
    const consoleSessions = await ctx.store.consoleSessions.deleteForUser(userId);
    return { grants: grants.length, sessions: sessions.length + consoleSessions };
  },
};
