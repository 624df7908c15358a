import { unusableClientScopes } from '../../domain/client-scopes.ts';
import type { Api, OAuthClient } from '../../domain/entities.ts';
import type { EventInput } from '../../domain/events.ts';
import { newId } from '../../domain/ids.ts';
import { generateKey } from '../../domain/key-format.ts';
import { hashKey } from '../../domain/key-hash.ts';
import { ControlError, iso, notFound, requireFound, type Actor, type ControlContext } from '../context.ts';
import type { ClientView } from '../admin/identity-responses.ts';
import { auditedChange } from './audit-change.ts';
import { conflictAware } from './resource.ts';
import { requireIdentity } from './users.ts';
import { CONSOLE_CLIENT_ID } from '../console/console-client.ts';

/** What an admin sets on a client: everything but its id, secret, state and times. */
export type ClientInput = Omit<OAuthClient, 'id' | 'secretHash' | 'pepperId' | 'disabled' | 'createdAt' | 'updatedAt'>;

export type ClientPatch = Partial<Omit<ClientInput, 'type'>> & { disabled?: boolean | undefined };

export function clientView(client: OAuthClient): ClientView {
  const { secretHash: _h, pepperId: _p, createdAt, updatedAt, ...rest } = client;
  return { ...rest, appId: client.appId ?? null, createdAt: iso(createdAt), updatedAt: iso(updatedAt) };
}

const audit = (actor: Actor, action: string, id: string, before: OAuthClient | null, after: OAuthClient | null) => ({
  ...actor,
  action: `client.${action}`,
  targetType: 'client' as const,
  targetId: id,
  ...auditedChange(clientView, before, after),
});

/** Rules oidc-provider would otherwise find at request time; refused here, when the client is saved. */
async function validate(ctx: ControlContext, c: Omit<OAuthClient, 'id' | 'createdAt' | 'updatedAt'>): Promise<void> {
  const fields: Record<string, string> = {};
  const usesRedirects = c.grantTypes.includes('authorization_code');
  if (usesRedirects && c.redirectUris.length === 0) fields.redirectUris = 'the authorization_code grant needs at least one redirect URI';
  if (!usesRedirects && c.redirectUris.length > 0) fields.redirectUris = 'redirect URIs are used only with the authorization_code grant';
  if (c.grantTypes.includes('refresh_token') && !c.grantTypes.some((g) => g === 'authorization_code' || g.endsWith(':device_code'))) {
    fields.grantTypes = 'refresh_token needs authorization_code or device_code to start from';
  }
  if (c.type === 'public' && c.grantTypes.includes('client_credentials')) fields.grantTypes = 'a public client cannot use client_credentials (RFC 6749 §4.4)';
  const exchanges = c.grantTypes.includes('urn:ietf:params:oauth:grant-type:token-exchange');
  if (exchanges !== (c.exchangeAppId !== null)) fields.exchangeAppId = 'the token-exchange grant and exchangeAppId go together';
  if (c.exchangeAppId && !(await ctx.store.apps.get(c.exchangeAppId))) fields.exchangeAppId = `no app with id ${c.exchangeAppId}`;
  const apis: Api[] = [];
  for (const apiId of c.apiIds) {
    const api = await ctx.store.apis.get(apiId);
    if (api) apis.push(api);
    else fields.apiIds = `no API with id ${apiId}`;
  }
  // A token carries only scopes its API mentions (RFC 6749 §3.3): a scope none of the client's APIs
  // mentions could never be granted, so it is refused here rather than missing from every token.
  const unusable = fields.apiIds ? [] : unusableClientScopes(c.scopes, apis);
  if (unusable.length)
    fields.scopes = `${unusable.join(', ')}: not a scope of ${c.apiIds.length ? `its API${c.apiIds.length > 1 ? 's' : ''} (${c.apiIds.join(', ')})` : 'any API: the client has none'}; declare it in the API's auth scopes or route rules first`;
  if (Object.keys(fields).length) throw new ControlError('VALIDATION_FAILED', 'the client settings do not fit together', fields);
}

function newSecret(ctx: ControlContext): { secret: string; secretHash: string; pepperId: string } {
  const { secret } = generateKey('clientSecret', 'live');
  const pepper = ctx.peppers[0]!;
  return { secret, secretHash: hashKey(secret, pepper), pepperId: pepper.id };
}

export const clientLimitReached = (max: number): ControlError =>
  new ControlError('LIMIT_REACHED', `an app may have at most ${max} OAuth clients: delete one first`);

export const clientsService = {
  /** The secret is returned once, here, for confidential clients. */
  /** With `maxPerApp` (the portal's `maxClientsPerApp`): refused (409 LIMIT_REACHED) when the app has that many, counted by the store with the insert. */
  async create(ctx: ControlContext, actor: Actor, input: ClientInput, maxPerApp?: number): Promise<{ client: OAuthClient; secret: string | null }> {
    requireIdentity(ctx);
    const fields = { ...input, disabled: false, secretHash: null, pepperId: null };
    await validate(ctx, fields);
    const now = ctx.clock();
    const credentials = input.type === 'confidential' ? newSecret(ctx) : null;
    const client: OAuthClient = {
      ...fields,
      ...(credentials && { secretHash: credentials.secretHash, pepperId: credentials.pepperId }),
      id: newId('client', now),
      createdAt: now,
      updatedAt: now,
    };
    if (maxPerApp === undefined) await ctx.store.clients.create(client, audit(actor, 'created', client.id, null, client));
    else if (!(await ctx.store.clients.createWithin(client, audit(actor, 'created', client.id, null, client), maxPerApp))) throw clientLimitReached(maxPerApp);
    return { client, secret: credentials?.secret ?? null };
  },

  async get(ctx: ControlContext, id: string): Promise<OAuthClient> {
    return requireFound(await ctx.store.clients.get(id), 'client', id);
  },

  /** The web app's own client is Gatehouse's (console-client.ts: its secret derived, put right at start): no admin changes it. */
  async changeable(ctx: ControlContext, id: string): Promise<OAuthClient> {
    const client = await clientsService.get(ctx, id);
    if (client.id === CONSOLE_CLIENT_ID)
      throw new ControlError('CONFLICT', 'this is the web app’s own client, managed by Gatehouse: it cannot be changed, given a new secret or deleted');
    return client;
  },

  list: (ctx: ControlContext, query: { limit: number; cursor?: string | undefined }) => ctx.store.clients.list(query),

  async update(ctx: ControlContext, actor: Actor, id: string, patch: ClientPatch): Promise<OAuthClient> {
    const existing = await clientsService.changeable(ctx, id);
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const client: OAuthClient = { ...existing, ...defined, updatedAt: ctx.clock() };
    await validate(ctx, client);
    await save(ctx, actor, existing, client, patch.disabled === true && !existing.disabled ? 'disabled' : 'updated');
    return client;
  },

  /** A new secret, shown once; the old one stops working at once. */
  async rotateSecret(ctx: ControlContext, actor: Actor, id: string): Promise<{ client: OAuthClient; secret: string }> {
    const existing = await clientsService.changeable(ctx, id);
    if (existing.type !== 'confidential') throw new ControlError('CONFLICT', 'a public client has no secret');
    const credentials = newSecret(ctx);
    const client: OAuthClient = { ...existing, secretHash: credentials.secretHash, pepperId: credentials.pepperId, updatedAt: ctx.clock() };
    await save(ctx, actor, existing, client, 'secret_rotated', [{ type: 'client.secret_rotated', data: { client: clientView(client) } }]);
    return { client, secret: credentials.secret };
  },

  async delete(ctx: ControlContext, actor: Actor, id: string): Promise<void> {
    await clientsService.changeable(ctx, id);
    if (!(await ctx.store.clients.delete(id, (deleted) => audit(actor, 'deleted', id, deleted, null)))) throw notFound('client', id);
    ctx.changes.publish({ type: 'client.changed', clientId: id });
  },
};

async function save(ctx: ControlContext, actor: Actor, before: OAuthClient, after: OAuthClient, action: string, events: EventInput[] = []): Promise<void> {
  const done = await conflictAware('client', () => ctx.store.clients.update(after, { ...audit(actor, action, after.id, before, after), events }));
  if (!done) throw notFound('client', after.id);
  ctx.changes.publish({ type: 'client.changed', clientId: after.id });
}
