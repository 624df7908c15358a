import type { OAuthClient, OAuthGrantType, User } from '../../domain/entities.ts';
import { ControlError, notFound, type Actor, type ControlContext } from '../context.ts';
import { clientLimitReached, clientsService, clientView, type ClientInput } from './clients.ts';
import { portalService, settingsOf } from './portal.ts';

/** What a developer chooses for a client of their app; the rest is the operator's (never first-party, the default token lifetime). */
export type PortalClientInput = Pick<ClientInput, 'name' | 'type' | 'redirectUris' | 'postLogoutRedirectUris' | 'grantTypes' | 'scopes' | 'dpopBound'> & {
  apiIds?: string[] | undefined;
};

const TOKEN_EXCHANGE: OAuthGrantType = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The field's error naming what was asked for beyond `allowed`, or nothing. */
function notAllowed(field: string, asked: readonly string[], allowed: readonly string[]): Record<string, string> {
  const beyond = asked.filter((x) => !allowed.includes(x));
  return beyond.length ? { [field]: `not allowed here: ${beyond.join(', ')} (allowed: ${allowed.join(', ') || 'none'})` } : {};
}

/**
 * OAuth clients developers register for their own apps in the portal. The admin API's service makes
 * them, with all its rules (clientsService: redirect URIs, grant combinations, scopes an API
 * mentions); the portal adds the operator's: the catalogue's APIs only, the grant types
 * `portal.clientGrantTypes` and scopes `portal.clientScopes`, at most `portal.maxClientsPerApp` per app. A client of another
 * developer's app is not found (404), like everything else of theirs.
 */
export const portalClientsService = {
  async list(ctx: ControlContext, user: User, appId: string) {
    await portalService.ownApp(ctx, user, appId);
    const page = await ctx.store.clients.listByApp(appId, { limit: 100 });
    return { items: page.items.map(clientView), nextCursor: page.nextCursor };
  },

  /** The client, if it was registered for one of this user's apps; else 404. */
  async own(ctx: ControlContext, user: User, id: string): Promise<OAuthClient> {
    const client = await ctx.store.clients.get(id);
    if (!client || !(await portalService.ownsApp(ctx, user, client.appId))) throw notFound('client', id);
    return client;
  },

  /** A confidential client's secret is in the answer only. Token exchange, where allowed, trades this app's keys only. */
  async create(ctx: ControlContext, actor: Actor, user: User, appId: string, input: PortalClientInput) {
    await portalService.ownApp(ctx, user, appId);
    const { maxClientsPerApp, clientGrantTypes, clientScopes } = settingsOf(ctx);
    // Asked here to answer before anything else; the store asks again as it inserts the client, which holds when requests come together.
    if ((await ctx.store.clients.listByApp(appId, { limit: maxClientsPerApp })).items.length >= maxClientsPerApp) throw clientLimitReached(maxClientsPerApp);
    const fields = {
      ...notAllowed('body.grantTypes', input.grantTypes, clientGrantTypes),
      ...notAllowed('body.scopes', input.scopes, clientScopes),
    };
    if (Object.keys(fields).length) throw new ControlError('VALIDATION_FAILED', 'more than the operator allows developers’ clients', fields);
    const apiIds = await portalService.catalogueApiIds(ctx, input.apiIds);
    const { client, secret } = await clientsService.create(
      ctx,
      actor,
      {
        ...input,
        apiIds,
        firstParty: false,
        exchangeAppId: input.grantTypes.includes(TOKEN_EXCHANGE) ? appId : null,
        accessTokenTtlSeconds: null,
        appId,
      },
      maxClientsPerApp,
    );
    return { ...clientView(client), ...(secret ? { secret } : {}) };
  },
};
