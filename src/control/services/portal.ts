import { randomBytes } from 'node:crypto';
import type { Api, ApiKey, App, OAuthGrantType, User } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import { checkOpenApiDocument } from '../../domain/openapi-document.ts';
import { keyCreateSchema } from '../../domain/inputs/resources.ts';
import type { Environment } from '../../domain/key-format.ts';
import { ControlError, iso, notFound, type Actor, type ControlContext } from '../context.ts';
import { auditedChange } from './audit-change.ts';
import { appView, deleteAppWithRetiredKeys } from './apps.ts';
import { keyLimitReached, keysService, rotationCheck, type RotationCheck } from './keys.ts';
import { changeUser, requireIdentity, userAnswer, usersService, userView, type UserInput } from './users.ts';

/** The operator's limits on the developer portal (config `portal`), with its key policy resolved by name or id at use. */
export interface PortalSettings {
  signup: 'invite-only' | 'open' | 'approval';
  maxAppsPerDeveloper: number;
  maxKeysPerApp: number;
  /** The policy (name or id) portal keys get; undefined: none. */
  keyPolicy: string | undefined;
  keyEnvironment: Environment;
  inviteTtlMs: number;
  maxClientsPerApp: number;
  /** The grant types developers' clients may use, and the scopes they may hold. */
  clientGrantTypes: readonly OAuthGrantType[];
  clientScopes: readonly string[];
  maxWebhooksPerApp: number;
}

export const DEFAULT_PORTAL_SETTINGS: PortalSettings = {
  signup: 'invite-only',
  maxAppsPerDeveloper: 5,
  maxKeysPerApp: 5,
  keyPolicy: undefined,
  keyEnvironment: 'test',
  inviteTtlMs: 72 * 3_600_000,
  maxClientsPerApp: 5,
  clientGrantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  clientScopes: [],
  maxWebhooksPerApp: 3,
};

/** Invitations are kept with the authorization server's records: under a keyed hash of their token, sealed, expiring, consumed once. */
const INVITE_MODEL = 'PortalInvite';

export const settingsOf = (ctx: ControlContext): PortalSettings => ctx.portal ?? DEFAULT_PORTAL_SETTINGS;

/**
 * The developer portal (/portal/v1): a developer's own apps and keys within the operator's limits,
 * the catalogue of listed APIs, and sign-up. Everything a developer names that is not theirs is
 * answered as not found (404), never as forbidden, so ids of other developers' things are not confirmed.
 */
/** A rotation check as the portal shows it: allowed, or why not, naming the key in the way and until when its grace runs. */
export type PortalRotation =
  { allowed: true } | { allowed: false; code: 'CONFLICT' | 'ROTATION_IN_PROGRESS'; reason: string; keyId: string | null; until: string | null };

function rotationView(check: RotationCheck): PortalRotation {
  if (check.allowed) return { allowed: true };
  const until = check.code === 'ROTATION_IN_PROGRESS' ? iso(check.blockedBy?.expiresAt ?? null) : null;
  return { allowed: false, code: check.code, reason: check.reason, keyId: check.blockedBy?.id ?? null, until };
}

export const portalService = {
  /** The listed APIs, with where to call them and whether a reference document is attached. */
  async catalogue(ctx: ControlContext, gatewayUrl: string) {
    const listed = (await ctx.store.apis.all()).filter((a) => a.portal?.listed);
    const documented = await ctx.store.apiDocuments.which(listed.map((a) => a.id));
    return {
      items: listed
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((a) => ({
          id: a.id,
          name: a.name,
          description: a.portal?.description ?? null,
          listenPath: a.listenPath,
          gatewayUrl: `${gatewayUrl.replace(/\/$/, '')}${a.listenPath}`,
          auth: a.auth.type,
          scopes: a.auth.scopes,
          hasReference: documented.has(a.id),
        })),
    };
  },

  async listedApi(ctx: ControlContext, id: string): Promise<Api> {
    const api = await ctx.store.apis.get(id);
    if (!api?.portal?.listed) throw notFound('API', id);
    return api;
  },

  async reference(ctx: ControlContext, id: string): Promise<string> {
    await portalService.listedApi(ctx, id);
    const doc = await ctx.store.apiDocuments.get(id);
    if (!doc) throw new ControlError('RESOURCE_NOT_FOUND', `the API ${id} has no reference document`);
    return doc.body;
  },

  /** Attaches an OpenAPI 3.x document (JSON or YAML) to an API, kept as JSON: the portal hands it to the reference renderer as it is. */
  async attachReference(ctx: ControlContext, actor: Actor, apiId: string, raw: { contentType: string; text: string }) {
    const api = await ctx.store.apis.get(apiId);
    if (!api) throw notFound('API', apiId);
    const checked = checkOpenApiDocument(raw.text, raw.contentType === 'application/json' ? 'json' : 'yaml');
    if (!checked.ok) throw new ControlError('VALIDATION_FAILED', `not an OpenAPI 3.x document: ${Object.keys(checked.fields).join(', ')}`, checked.fields);
    const updatedAt = ctx.clock();
    const text = JSON.stringify(checked.document);
    const bytes = Buffer.byteLength(text);
    await ctx.store.apiDocuments.put(
      { apiId, contentType: 'application/json', body: text, updatedAt },
      {
        ...actor,
        action: 'api.reference_attached',
        targetType: 'api',
        targetId: apiId,
        before: null,
        after: { title: (checked.document.info as { title: string }).title, bytes },
      },
    );
    return { apiId, contentType: 'application/json', bytes, updatedAt: new Date(updatedAt).toISOString() };
  },

  async apps(ctx: ControlContext, user: User, query: { limit: number; cursor?: string | undefined }) {
    const page = await ctx.store.apps.listByOwner(user.id, query);
    return { items: page.items.map(appView), nextCursor: page.nextCursor };
  },

  /** The app, if this user owns it; else 404 as if it did not exist. */
  async ownApp(ctx: ControlContext, user: User, id: string): Promise<App> {
    const app = await ctx.store.apps.get(id);
    if (!app || app.ownerUserId !== user.id) throw notFound('app', id);
    return app;
  },

  /** Whether this user owns the app: a key, client or webhook endpoint is theirs through its app. */
  async ownsApp(ctx: ControlContext, user: User, appId: string | null | undefined): Promise<boolean> {
    const app = appId ? await ctx.store.apps.get(appId) : null;
    return app !== null && app.ownerUserId === user.id;
  },

  /** The catalogue's APIs asked for (all of them when none are named); an API not listed is refused, by id. */
  async catalogueApiIds(ctx: ControlContext, apiIds: readonly string[] | undefined): Promise<string[]> {
    const listed = (await ctx.store.apis.all()).filter((a) => a.portal?.listed);
    const wanted = apiIds ? [...apiIds] : listed.map((a) => a.id);
    const unknown = wanted.filter((id) => !listed.some((a) => a.id === id));
    if (unknown.length)
      throw new ControlError('VALIDATION_FAILED', 'not APIs of the catalogue', { 'body.apiIds': `not in the catalogue: ${unknown.join(', ')}` });
    if (wanted.length === 0) throw new ControlError('VALIDATION_FAILED', 'no API is listed in the catalogue yet', { 'body.apiIds': 'at least one API' });
    return wanted;
  },

  async createApp(ctx: ControlContext, actor: Actor, user: User, input: { name: string; description: string | null }): Promise<App> {
    const { maxAppsPerDeveloper } = settingsOf(ctx);
    const limitReached = () => new ControlError('LIMIT_REACHED', `a developer may have at most ${maxAppsPerDeveloper} apps: delete one first`);
    if ((await ctx.store.apps.countByOwner(user.id)) >= maxAppsPerDeveloper) throw limitReached();
    const now = ctx.clock();
    const app: App = {
      id: newId('app', now),
      name: input.name,
      owner: user.username,
      ownerUserId: user.id,
      metadata: input.description ? { description: input.description } : {},
      createdAt: now,
      updatedAt: now,
    };
    // Counted again by the store as it inserts the app: requests made together cannot pass the limit.
    const audit = { ...actor, action: 'app.created', targetType: 'app' as const, targetId: app.id, ...auditedChange(appView, null, app) };
    if (!(await ctx.store.apps.createWithin(app, audit, maxAppsPerDeveloper))) throw limitReached();
    return app;
  },

  async updateApp(
    ctx: ControlContext,
    actor: Actor,
    user: User,
    id: string,
    patch: { name?: string | undefined; description?: string | null | undefined },
  ): Promise<App> {
    const existing = await portalService.ownApp(ctx, user, id);
    const metadata = { ...existing.metadata };
    if (patch.description === null) delete metadata.description;
    else if (patch.description !== undefined) metadata.description = patch.description;
    const app: App = { ...existing, name: patch.name ?? existing.name, metadata, updatedAt: ctx.clock() };
    const done = await ctx.store.apps.update(app, {
      ...actor,
      action: 'app.updated',
      targetType: 'app',
      targetId: id,
      ...auditedChange(appView, existing, app),
    });
    if (!done) throw notFound('app', id);
    return app;
  },

  /**
   * Deletes the developer's app once it has no key in use, OAuth client or webhook endpoint (apps.ts: as the admin API does): its revoked
   * and expired keys go with it (a developer cannot delete a key), each audited as `key.deleted`, in one
   * store transaction; the audit log keeps everything about them.
   */
  async deleteApp(ctx: ControlContext, actor: Actor, user: User, id: string): Promise<void> {
    await deleteAppWithRetiredKeys(ctx, actor, await portalService.ownApp(ctx, user, id));
  },

  async keys(ctx: ControlContext, user: User, appId: string, query: { limit: number; cursor?: string | undefined }) {
    await portalService.ownApp(ctx, user, appId);
    const now = ctx.clock();
    const page = await ctx.store.keys.list({ appId, limit: query.limit, cursor: query.cursor, now });
    // Each key says whether the portal may rotate it (with a grace period, as the portal does), by the
    // rule the rotation itself applies: the web app offers no rotation the API would refuse.
    const item = async (k: ApiKey) => ({ ...(await keysService.view(ctx, k)), rotation: rotationView(await rotationCheck(ctx, k, 1, now)) });
    return { items: await Promise.all(page.items.map(item)), nextCursor: page.nextCursor };
  },

  /** The key, if it belongs to one of this user's apps; else 404. */
  async ownKey(ctx: ControlContext, user: User, id: string): Promise<ApiKey> {
    const key = await ctx.store.keys.get(id);
    if (!key || !(await portalService.ownsApp(ctx, user, key.appId))) throw notFound('key', id);
    return key;
  },

  /**
   * A key for one of the user's apps: access to the listed APIs asked for (all listed ones by default),
   * the operator's portal policy, in the portal's environment; at most maxKeysPerApp keys not revoked.
   */
  async createKey(ctx: ControlContext, actor: Actor, user: User, appId: string, input: { name: string; apiIds?: string[] | undefined }) {
    await portalService.ownApp(ctx, user, appId);
    const settings = settingsOf(ctx);
    const now = ctx.clock();
    // Keys in use, however many revoked or expired ones the app has had: the store counts them. Asked
    // here to answer before anything else; the store asks again as it inserts the key, which holds
    // when requests for one app come together.
    const inUse = async (status: 'active' | 'disabled') => (await ctx.store.keys.list({ appId, status, limit: settings.maxKeysPerApp, now })).items.length;
    if ((await inUse('active')) + (await inUse('disabled')) >= settings.maxKeysPerApp) throw keyLimitReached(settings.maxKeysPerApp);
    const wanted = await portalService.catalogueApiIds(ctx, input.apiIds);
    const policyId = settings.keyPolicy ? await resolvePolicy(ctx, settings.keyPolicy) : null;
    const { key, secret } = await keysService.create(
      ctx,
      actor,
      keyCreateSchema.parse({ appId, name: input.name, environment: settings.keyEnvironment, policyId, access: wanted.map((apiId) => ({ apiId })) }),
      settings.maxKeysPerApp,
    );
    return { ...(await keysService.view(ctx, key)), secret };
  },

  /** Starts inviting a developer: a single-use link, valid for portal.inviteTtlHours, for this e-mail address. */
  async invite(ctx: ControlContext, actor: Actor, email: string) {
    const identity = requireIdentity(ctx);
    const now = ctx.clock();
    const token = randomBytes(32).toString('base64url');
    const expiresAt = now + settingsOf(ctx).inviteTtlMs;
    // The records' expiry is epoch milliseconds, as the store compares it and its housekeeping deletes by it.
    await identity.oidcRecords.upsert(INVITE_MODEL, token, { email, invitedBy: actor.actor, exp: Math.floor(expiresAt / 1000) }, expiresAt);
    await ctx.store.audit.append({
      ...actor,
      action: 'user.invited',
      targetType: 'user',
      targetId: email,
      before: null,
      after: { email, expiresAt: iso(expiresAt) },
    });
    return { email, path: `/developers/signup?invite=${token}`, token, expiresAt: iso(expiresAt) };
  },

  /**
   * Portal sign-up, by the configured mode: with an invitation (used once, for its address), open to
   * anyone, or open with an operator's approval (the account cannot sign in until approved).
   */
  async signUp(ctx: ControlContext, input: { username: string; password: string; name: string | null; invite?: string | undefined }) {
    const identity = requireIdentity(ctx);
    const mode = settingsOf(ctx).signup;
    const now = ctx.clock();
    const actor: Actor = { actor: 'portal:signup', actorName: input.username, requestId: null };
    if (input.invite) {
      const invite = await identity.oidcRecords.find(INVITE_MODEL, input.invite, now);
      if (!invite || invite.consumed !== undefined)
        throw new ControlError('SIGN_UP_CLOSED', 'this invitation is not valid: it was used, has expired, or never existed');
      if (String(invite.email).toLowerCase() !== input.username) throw new ControlError('SIGN_UP_CLOSED', 'this invitation is for another e-mail address');
    } else if (mode === 'invite-only') {
      throw new ControlError('SIGN_UP_CLOSED', 'sign-up is by invitation: ask an operator for a link');
    }
    const pending = !input.invite && mode === 'approval';
    const account: UserInput = {
      username: input.username,
      name: input.name,
      password: input.password,
      roles: [],
      mfaRequired: false,
      consoleRole: 'developer',
      ...(pending ? { pendingApproval: true } : {}),
    };
    // The invitation is spent with its account, in one transaction: a sign-up that fails (the name
    // taken, the store away) leaves it for a retry, and of two racing uses only one makes an account.
    const user = input.invite
      ? await usersService.createSpending(ctx, actor, account, { model: INVITE_MODEL, id: input.invite })
      : await usersService.create(ctx, actor, account);
    if (!user) throw new ControlError('SIGN_UP_CLOSED', 'this invitation is not valid: it was used, has expired, or never existed');
    return { user: { id: user.id, name: user.username }, status: pending ? ('pending' as const) : ('active' as const) };
  },

  async approve(ctx: ControlContext, actor: Actor, id: string) {
    const { user } = await changeUser(ctx, id, (existing) => {
      if (!existing.pendingApproval) throw new ControlError('CONFLICT', 'this user is not waiting for approval');
      return {
        user: { ...existing, pendingApproval: false },
        audit: (user) => ({ ...actor, action: 'user.approved', targetType: 'user', targetId: id, ...auditedChange(userView, existing, user) }),
      };
    });
    return userAnswer(ctx, user);
  },
};

async function resolvePolicy(ctx: ControlContext, nameOrId: string): Promise<string> {
  const byId = /^pol_[0-9a-f]{28}$/.test(nameOrId) ? await ctx.store.policies.get(nameOrId) : null;
  if (byId) return byId.id;
  const byName = await ctx.store.policies.list({ limit: 1, name: nameOrId });
  const found = byName.items[0];
  if (!found) throw new ControlError('CONFLICT', `the portal's key policy (portal.keyPolicy: ${nameOrId}) does not exist: an operator must create it`);
  return found.id;
}
