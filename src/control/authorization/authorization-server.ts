import { hkdfSync, createSecretKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { grantableScopes, isOidcScope, scopeTokens, ungrantableScopes } from '../../domain/client-scopes.ts';
import type { Api, OAuthClient, SigningKey } from '../../domain/entities.ts';
import { hashesEqual, hashKey } from '../../domain/key-hash.ts';
import { keySchedule } from '../../domain/signing-key-schedule.ts';
import type { RevocationList } from '../../verification/revocation-list.ts';
import type { ControlContext, IdentityContext } from '../context.ts';
import { usersService } from '../services/users.ts';
import { OIDC_SCOPES, type ClientDirectory } from './client-directory.ts';
import {
  carryGrantVersion,
  createOidcAdapterFactory,
  noteConsumes,
  noteRefusal,
  PendingGiveBacks,
  PendingRevocations,
  retryGiveBacks,
  retryRevocations,
  saveGrant,
  type OidcAdapterOptions,
} from './oidc-adapter.ts';
import { jwtAccessTokenExtension } from './jwt-access-tokens.ts';
import { PAGE_HEADERS } from './security-headers.ts';
import { rfcAnswers } from './rfc-answers.ts';
import { outageAnswers, OUTAGE_ANSWER } from './outage-answers.ts';
import { registerTokenExchange } from './token-exchange.ts';
import { tokenRequestMetrics, type TokenRequestObserver } from './token-metrics.ts';
import { traceProviderRequests } from './trace-requests.ts';
import type { Tracing } from '../../telemetry/tracing.ts';
import { deviceConfirmSource, deviceInputSource, deviceSuccessSource, logoutSource, logoutSuccessSource, renderError } from './provider-pages.ts';
import { passedSecondFactor, SECOND_FACTOR_NOW_REQUIRED, SECOND_FACTOR_REVOCATION_REASON, signInRefusal } from '../../domain/sign-in-standing.ts';
import { grantsService } from '../services/grants.ts';
import { deviceCodeThrottle } from './device-code-throttle.ts';
import { methodNotAllowed } from './method-not-allowed.ts';
import validateDpop from 'oidc-provider/lib/helpers/validate_dpop.js';
import type { Throttle } from '../../limits/port.ts';

export interface AuthorizationSettings {
  issuer: string;
  refreshTokenTtlSeconds: number;
  refreshTokenAbsoluteTtlSeconds: number;
  sessionTtlSeconds: number;
  refreshReuseGraceSeconds: number;
  /** Trust X-Forwarded-* from the proxy in front (koa's `proxy`). */
  behindProxy: boolean;
}

export interface AuthorizationServerOptions {
  ctx: ControlContext;
  identity: IdentityContext;
  masterKey: Buffer;
  directory: ClientDirectory;
  revocations: RevocationList;
  settings: AuthorizationSettings;
  onError: (error: unknown) => void;
  /** Told of every token endpoint answer, by grant type (metrics). */
  onTokenRequest?: TokenRequestObserver | undefined;
  /** OpenTelemetry: a SERVER span per request, when tracing is on. */
  tracing?: Tracing | null;
  /** Wrong device user codes, per client address (RFC 8628 §5.1). */
  userCodeThrottle: Throttle;
  /** Grant revocations the store failed, journaled on disk (start-authorization.ts); in memory only when not given. */
  pendingRevocations?: PendingRevocations;
}

/** oidc-provider's route for entering a device's user code (its default). */
const CODE_VERIFICATION_PATH = '/device';

/** What oidc-provider issues tokens from that carries its sign-in's `amr`: checked at each exchange (findAccount). */
const GRANT_SOURCES = new Set(['AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest', 'RefreshToken']);

/** Token lifetimes that are not per API or client (seconds). */
const CODE_TTL = 60;
const DEVICE_CODE_TTL = 600;
const ID_TOKEN_TTL = 3600;
const INTERACTION_TTL = 600;
export const DEFAULT_ACCESS_TOKEN_TTL = 900;

/**
 * The OAuth 2.0 / OpenID Connect authorization server: oidc-provider (OpenID Certified) with
 * Gatehouse's store, clients, users and signing keys. The provider is rebuilt when the signing-key
 * schedule changes (a key activates or is unpublished), since its keystore is fixed at construction.
 */
export class AuthorizationServer {
  readonly #o: AuthorizationServerOptions;
  readonly #cookieKey: string;
  #provider!: Provider;
  #callback!: (req: IncomingMessage, res: ServerResponse) => void;
  #scheduleTimer: NodeJS.Timeout | undefined;
  #signature = '';
  /** Kept across provider builds: a revocation the store failed is retried whatever the keys do since. */
  readonly #pendingRevocations: PendingRevocations;
  /** Kept across provider builds too: a give-back the store failed is completed whatever the keys do since. */
  readonly #pendingGiveBacks = new PendingGiveBacks();
  #adapterOptions: OidcAdapterOptions | null = null;

  constructor(options: AuthorizationServerOptions) {
    this.#o = options;
    this.#pendingRevocations = options.pendingRevocations ?? new PendingRevocations();
    this.#cookieKey = derive(options.masterKey, 'gatehouse cookies v1').export().toString('base64url');
  }

  get provider(): Provider {
    return this.#provider;
  }

  get issuer(): string {
    return this.#o.settings.issuer;
  }

  /** Builds the provider from the current keys; call again whenever signing keys change. */
  async reload(): Promise<void> {
    const { ctx } = this.#o;
    const now = ctx.clock();
    const keys = await ctx.store.signingKeys.all();
    const schedule = keySchedule(keys, now);
    if (!schedule.active) throw new Error('no signing key is active; run `gatehouse signing-keys rotate`');
    const signature = schedule.published.map((k) => k.id).join(',');
    if (signature !== this.#signature || !this.#provider) {
      this.#provider = this.#build(schedule.active, schedule.published);
      this.#callback = this.#provider.callback() as (req: IncomingMessage, res: ServerResponse) => void;
      this.#signature = signature;
    }
    clearTimeout(this.#scheduleTimer);
    if (schedule.nextChangeAt !== null) {
      const wait = Math.min(Math.max(schedule.nextChangeAt - now, 1000), 2 ** 31 - 1);
      this.#scheduleTimer = setTimeout(() => void this.reload().catch(this.#o.onError), wait);
      this.#scheduleTimer.unref();
    }
  }

  /** Retries the grant revocations the store failed; rejects while any is pending (for health). */
  retryRevocations(): Promise<void> {
    return this.#adapterOptions ? retryRevocations(this.#adapterOptions) : Promise.resolve();
  }

  /** Completes the give-backs the store failed; rejects while any is pending (for health). */
  retryGiveBacks(): Promise<void> {
    return this.#adapterOptions ? retryGiveBacks(this.#adapterOptions) : Promise.resolve();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.#callback(req, res);
  }

  close(): void {
    clearTimeout(this.#scheduleTimer);
  }

  #build(active: SigningKey, published: SigningKey[]): Provider {
    const { ctx, identity, directory, settings } = this.#o;
    const jwks = { keys: published.map((k) => JSON.parse(identity.signingKeyBox.open(k.sealedPrivateJwk, k.id))) };
    const sign = { alg: active.alg, kid: active.id };

    const adapterOptions: OidcAdapterOptions = {
      records: identity.oidcRecords,
      clients: directory,
      clock: ctx.clock,
      revocationTtlMs: () => identity.maxTokenLifetimeMs,
      onGrantRevoked: (grantId) => ctx.changes.publish({ type: 'token.revoked', kind: 'grant', id: grantId }),
      refreshReuseGraceMs: settings.refreshReuseGraceSeconds * 1000,
      onReuseRevoked: (grantId) => this.#auditGrantRevoked(grantId),
      pendingRevocations: this.#pendingRevocations,
      pendingGiveBacks: this.#pendingGiveBacks,
    };
    this.#adapterOptions = adapterOptions;
    const configuration: Configuration = {
      adapter: createOidcAdapterFactory(adapterOptions),
      jwks,
      cookies: { keys: [this.#cookieKey] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], roles: ['roles'] },
      scopes: [...OIDC_SCOPES],
      clientDefaults: { id_token_signed_response_alg: active.alg, grant_types: ['authorization_code'], response_types: ['code'] },
      // RFC 9700 §2.1.1: code flow only; no implicit or hybrid responses, so no tokens in URLs.
      responseTypes: ['code'],
      // RFC 9700 §2.1.1 and RFC 7636: PKCE for every client; oidc-provider 9 accepts only S256.
      pkce: { required: () => true },
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      enabledJWA: {
        idTokenSigningAlgValues: ['ES256', 'RS256', 'EdDSA'],
        userinfoSigningAlgValues: ['ES256', 'RS256', 'EdDSA'],
        introspectionSigningAlgValues: ['ES256', 'RS256', 'EdDSA'],
        authorizationSigningAlgValues: ['ES256', 'RS256', 'EdDSA'],
        dPoPSigningAlgValues: ['ES256', 'EdDSA', 'RS256', 'PS256'],
      },
      findAccount: async (_ctx, sub, token) => {
        const user = sub.startsWith('usr_') ? await ctx.store.users.get(sub) : null;
        if (!user || signInRefusal(user) !== null) return undefined;
        // oidc-provider asks here, with the token, before a code, device code or refresh token is
        // exchanged: the one place every later use of a sign-in passes (a refresh never reaches the
        // sign-in pages, whose check alone let a grant made before the requirement live on for weeks).
        if (token && GRANT_SOURCES.has(token.kind) && usersService.mfaRequired(ctx, user) && !passedSecondFactor((token as { amr?: unknown }).amr)) {
          await this.#revokeWithoutSecondFactor((token as { grantId?: unknown }).grantId);
          throw new errors.InvalidGrant(SECOND_FACTOR_NOW_REQUIRED);
        }
        return {
          accountId: sub,
          claims: async () => ({ sub, email: user.username, email_verified: false, name: user.name ?? undefined, roles: user.roles }),
        };
      },
      // RFC 9068 §2.2.3.1: the user's roles ride in their access tokens; an exchanged token names its app and key.
      extraTokenClaims: async (_ctx, token) => {
        const exchanged = (token as { gatehouseClaims?: Record<string, unknown> }).gatehouseClaims;
        if (exchanged) return exchanged;
        const accountId = (token as { accountId?: string }).accountId;
        if (!accountId?.startsWith('usr_')) return undefined;
        const user = await ctx.store.users.get(accountId);
        return user ? { roles: user.roles } : undefined;
      },
      formats: {
        customizers: {
          // The grant id lets a verifier holding only the JWT refuse it once the grant is revoked.
          jwt: async (_ctx, token, jwt) => {
            const grantId = (token as { grantId?: string }).grantId;
            if (grantId) jwt.payload.gid = grantId;
          },
        },
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        deviceFlow: {
          enabled: true,
          charset: 'base-20',
          mask: '****-****',
          userCodeInputSource: deviceInputSource,
          userCodeConfirmSource: deviceConfirmSource,
          successSource: deviceSuccessSource,
        },
        introspection: {
          enabled: true,
          // RFC 7662 §2.2: a token that would be refused is not active. A refresh token (or code) of a sign-in
          // that skipped a second factor now required is refused at its next exchange (findAccount), so its
          // introspection says inactive too, before that exchange revokes the grant.
          allowedPolicy: async (_ctx, client, token) =>
            (await this.#mayIntrospect(client.clientId, client.clientAuthMethod ?? 'none', token.clientId, (token as { aud?: unknown }).aud)) &&
            !(await this.#skipsRequiredSecondFactor(token)),
        },
        revocation: { enabled: true },
        dPoP: { enabled: true },
        userinfo: { enabled: true },
        rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource: logoutSuccessSource },
        resourceIndicators: {
          enabled: true,
          // RFC 8707: a client with exactly one API gets tokens for it without naming it.
          defaultResource: async (kctx, client, oneOf) => {
            if (oneOf) return oneOf;
            const c = await directory.client(client.clientId);
            if (c?.apiIds.length === 1) return (await directory.apis()).find((a) => a.id === c.apiIds[0])?.tokens.audience as string;
            // No API named and none to assume: API scopes (all scopes, for client credentials) cannot be granted.
            const machine = kctx.oidc.params?.grant_type === 'client_credentials';
            const requested = scopeTokens(kctx.oidc.params?.scope as string | undefined).filter((s) => machine || !isOidcScope(s));
            if (c && c.apiIds.length > 1 && (machine || requested.length > 0)) {
              throw new errors.InvalidTarget(
                `this client may call several APIs: name one with the resource parameter${requested.length ? ` (for ${requested.join(' ')})` : ''}`,
              );
            }
            if (requested.length) throw new errors.InvalidScope(`not granted to this client: it may call no API (${requested.join(' ')})`, requested.join(' '));
            return undefined as unknown as string;
          },
          // An API's token by default when the request asks for one of its scopes (or for no OpenID
          // scope); a sign-in asking only for OpenID scopes gets a token UserInfo accepts (OIDC Core
          // §5.3), unless the token request names the API.
          useGrantedResource: async (kctx, model) => {
            const asked = kctx.oidc.params?.scope as string | undefined;
            return scopeTokens(asked ?? (model as { scope?: string }).scope).some((s) => !isOidcScope(s));
          },
          getResourceServerInfo: async (kctx, resource, client) => {
            const api = await directory.apiByAudience(resource);
            const c = await directory.client(client.clientId);
            if (!api || !c?.apiIds.includes(api.id)) throw new errors.InvalidTarget('this client may not get tokens for that resource');
            refuseUngrantable(kctx, c, await this.#namedApis(kctx, c, resource));
            const ttl = Math.min(api.tokens.accessTokenTtlSeconds, c.accessTokenTtlSeconds ?? Infinity);
            return {
              scope: grantableScopes(api.auth, c.scopes).join(' '),
              audience: api.tokens.audience,
              accessTokenTTL: ttl,
              accessTokenFormat: 'jwt',
              jwt: { sign },
            };
          },
        },
      },
      ttl: {
        AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_ACCESS_TOKEN_TTL,
        ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_ACCESS_TOKEN_TTL,
        AuthorizationCode: CODE_TTL,
        DeviceCode: DEVICE_CODE_TTL,
        IdToken: ID_TOKEN_TTL,
        Interaction: INTERACTION_TTL,
        Session: settings.sessionTtlSeconds,
        Grant: settings.refreshTokenAbsoluteTtlSeconds,
        // Sliding: each rotation gets the full window again, but never past the absolute cap from the first issue.
        RefreshToken: (_ctx, token) => {
          // oidc-provider stamps iiat with the wall clock, so the elapsed time is read from the same clock.
          const elapsed = typeof token.iiat === 'number' ? Math.floor(Date.now() / 1000) - token.iiat : 0;
          return Math.max(1, Math.min(settings.refreshTokenTtlSeconds, settings.refreshTokenAbsoluteTtlSeconds - elapsed));
        },
      },
      // Every refresh returns a new refresh token; a used one presented again revokes the grant (RFC 9700 §4.14.2).
      rotateRefreshToken: true,
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      expiresWithSession: async () => false,
      allowOmittingSingleRegisteredRedirectUri: false,
      interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: this.#policy() },
      // First-party clients skip consent: their grant covers what they ask for, within what they are allowed.
      // Also when the session already holds a grant for the client that covers less (an earlier, narrower
      // request), or held one that was revoked since: that grant is widened, or a new one made. Another
      // authorization in the session may widen it at the same time: saveGrant keeps both widenings.
      loadExistingGrant: async (kctx) => {
        const grantId = kctx.oidc.result?.consent?.grantId || kctx.oidc.session!.grantIdFor(kctx.oidc.client!.clientId);
        const find = async () => (grantId ? await kctx.oidc.provider.Grant.find(grantId) : undefined);
        const c = await directory.client(kctx.oidc.client!.clientId);
        const accountId = kctx.oidc.session?.accountId;
        if (!c?.firstParty || !accountId) return find();
        return saveGrant(async () => {
          const existing = await find();
          const grant = existing?.accountId === accountId ? existing : new kctx.oidc.provider.Grant({ accountId, clientId: c.id });
          grant.addOIDCScope([...kctx.oidc.requestParamOIDCScopes].join(' '));
          for (const [resource, server] of Object.entries(kctx.oidc.resourceServers ?? {})) {
            const allowed = new Set(server.scope.split(' '));
            grant.addResourceScope(resource, [...kctx.oidc.requestParamScopes].filter((s) => allowed.has(s)).join(' '));
          }
          return grant;
        });
      },
      clientBasedCORS: (_ctx, origin, client) => ((client.redirectUris ?? []) as string[]).some((u) => new URL(u).origin === origin),
      renderError,
    };

    const provider = new Provider(settings.issuer, configuration);
    provider.proxy = settings.behindProxy;
    carryGrantVersion(provider);
    // Outermost: it sees the final answer (a 503 for an outage) before it is sent.
    provider.use(noteConsumes(adapterOptions, this.#o.onError, refusedForTheRequest(provider), (kctx, refusal) => this.#auditGivenBack(kctx, refusal)));
    provider.on('grant.error', (_kctx: KoaContextWithOIDC, error: unknown) => noteRefusal(error));
    this.#hashClientSecrets(provider);
    registerTokenExchange(provider, { ctx, directory, sign });
    const pageHeaders = (kctx: { set(name: string, value: string): void }) => {
      for (const [name, value] of Object.entries(PAGE_HEADERS)) if (name !== 'Cache-Control') kctx.set(name, value);
    };
    if (this.#o.tracing) provider.use(traceProviderRequests(this.#o.tracing));
    provider.use(async (kctx, next) => {
      // Headers for the pages oidc-provider renders; set before, so it can add the hash of its own
      // form_post script to script-src instead of needing 'unsafe-inline'.
      pageHeaders(kctx);
      try {
        await next();
      } catch (error) {
        // What escapes oidc-provider's own error handling (it answers OAuth errors itself): reported,
        // and answered as an error page in our layout under our headers, or as an RFC 6749 error,
        // instead of koa's bare text without them. One case is the client's doing, not ours: a step
        // of the device flow (the code form, the return from sign-in) sent without the session its
        // page started, whose error page oidc-provider then fails to save (it can only persist a
        // session it has saved before). Nothing was stored: a 400 invalid_request, not a server error.
        if (kctx.headerSent) throw error;
        const unsaved = sentWithoutSession(kctx, error);
        if (!unsaved) this.#o.onError(error);
        kctx.status = unsaved ? 400 : 500;
        pageHeaders(kctx);
        const out = unsaved
          ? {
              error: 'invalid_request',
              error_description: 'sent without the session its page started (no cookie, or an expired one): open the page again and continue from there',
            }
          : { error: 'server_error', error_description: 'the request could not be completed' };
        if (kctx.accepts('json', 'html') === 'html') await renderError(kctx, out);
        else kctx.body = out;
      }
    });
    provider.use(methodNotAllowed(provider, renderError));
    provider.use(deviceCodeThrottle(this.#o.userCodeThrottle, CODE_VERIFICATION_PATH, ctx.clock));
    if (this.#o.onTokenRequest) provider.use(tokenRequestMetrics(this.#o.onTokenRequest));
    // Inside the metrics, so they count the 503 a store outage is answered with.
    provider.use(outageAnswers(provider, { onError: this.#o.onError, renderPage: (kctx, error) => renderError(kctx, { ...OUTAGE_ANSWER }, error) }));
    provider.use(rfcAnswers(provider));
    provider.use(
      jwtAccessTokenExtension({
        ctx,
        revocations: this.#o.revocations,
        jwks: published.map((k) => k.publicJwk),
        issuer: settings.issuer,
        mayIntrospect: (a, b, c, d) => this.#mayIntrospect(a, b, c, d),
      }),
    );
    provider.on('server_error', (_kctx: KoaContextWithOIDC, error: unknown) => this.#o.onError(error));
    provider.on('grant.revoked', (_kctx: KoaContextWithOIDC, grantId: string) => this.#auditGrantRevoked(grantId));
    provider.on('end_session.success', (kctx: KoaContextWithOIDC) => {
      const accountId = kctx.oidc.session?.accountId;
      if (accountId)
        ctx.store.audit
          .append({ actor: `user:${accountId}`, requestId: null, action: 'user.logout', targetType: 'user', targetId: accountId, before: null, after: null })
          .catch(this.#o.onError);
    });
    return provider;
  }

  /** A grant revoked by oidc-provider (a reuse it saw), or by the adapter (a reuse in a race): in the audit log. */
  #auditGrantRevoked(grantId: string): void {
    this.#o.ctx.store.audit
      .append({ actor: 'authorization-server', requestId: null, action: 'grant.revoked', targetType: 'grant', targetId: grantId, before: null, after: null })
      .catch(this.#o.onError);
  }

  /**
   * A code or refresh token given back after a refusal for what the request asked (noteConsumes): in the
   * audit log under its grant, with the client and the error, so probing with a stolen one shows.
   */
  async #auditGivenBack(kctx: KoaContextWithOIDC, refusal: unknown): Promise<void> {
    const entities = kctx.oidc?.entities as
      { RefreshToken?: { grantId?: string }; AuthorizationCode?: { grantId?: string }; Client?: { clientId?: string } } | undefined;
    const token = entities?.RefreshToken ?? entities?.AuthorizationCode;
    const grantId = token?.grantId;
    if (typeof grantId !== 'string') return;
    const error = (refusal as { error?: unknown } | null)?.error;
    await this.#o.ctx.store.audit
      .append({
        actor: 'authorization-server',
        requestId: null,
        action: 'grant.token_given_back',
        targetType: 'grant',
        targetId: grantId,
        before: null,
        after: {
          token: entities?.RefreshToken ? 'refresh_token' : 'authorization_code',
          clientId: entities?.Client?.clientId ?? null,
          error: typeof error === 'string' ? error : null,
        },
      })
      .catch(this.#o.onError);
  }

  /**
   * A grant made by a sign-in without a second factor, for a user who must use one now (a flag, a role or
   * a console role since, or a configuration that requires it since): revoked whole, with every code and
   * refresh token of it, so nothing made by that sign-in goes on; the user signs in again, with one.
   * JWT access tokens already issued under it are refused by the gateway through the revocation list.
   */
  async #revokeWithoutSecondFactor(grantId: unknown): Promise<void> {
    if (typeof grantId !== 'string') return;
    await grantsService.revokeGrant(this.#o.ctx, { actor: 'authorization-server', requestId: null }, grantId, SECOND_FACTOR_REVOCATION_REASON);
  }

  /**
   * oidc-provider's prompts, plus one login check: a session signed in without a second factor is
   * not enough for a user who must use MFA (required since, by flag, role or console role), so they sign in again.
   */
  #policy() {
    const { ctx } = this.#o;
    const policy = interactionPolicy.base();
    policy.get('login')!.checks.add(
      new interactionPolicy.Check('mfa_required', 'a second factor is required', async (kctx) => {
        const session = kctx.oidc.session;
        if (!session?.accountId || kctx.oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        const user = await ctx.store.users.get(session.accountId);
        const missing = user && usersService.mfaRequired(ctx, user) && !passedSecondFactor(session.amr);
        return missing ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
      }),
    );
    return policy;
  }

  /**
   * Stored client secrets are keyed hashes (like API keys), so a client secret is compared by hashing
   * what the client presents. oidc-provider compares secrets in this one method.
   */
  #hashClientSecrets(provider: Provider): void {
    const { ctx } = this.#o;
    Object.defineProperty(provider.Client.prototype, 'compareClientSecret', {
      value(this: { clientSecret: string }, presented: string): boolean {
        if (typeof presented !== 'string' || presented.length > 256) return false;
        return ctx.peppers.some((pepper) => hashesEqual(this.clientSecret, hashKey(presented, pepper)));
      },
    });
  }

  /** The client's APIs a request names: this resource and every other `resource` it carries (an authorization request may carry several). */
  async #namedApis(kctx: KoaContextWithOIDC, c: OAuthClient, resource: string): Promise<Api[]> {
    const named = new Set([resource, ...[kctx.oidc.params?.resource ?? []].flat()]);
    return (await this.#o.directory.apis()).filter((a) => named.has(a.tokens.audience) && c.apiIds.includes(a.id));
  }

  /** A client may introspect its own tokens; a confidential client also the tokens for its APIs. */
  /** Whether a code or refresh token comes from a sign-in without the second factor its user must now pass. */
  async #skipsRequiredSecondFactor(token: { kind?: unknown; accountId?: unknown; amr?: unknown }): Promise<boolean> {
    if (typeof token.kind !== 'string' || !GRANT_SOURCES.has(token.kind) || typeof token.accountId !== 'string' || passedSecondFactor(token.amr)) return false;
    const user = await this.#o.ctx.store.users.get(token.accountId);
    return user !== null && usersService.mfaRequired(this.#o.ctx, user);
  }

  async #mayIntrospect(clientId: string, authMethod: string, tokenClientId: string | undefined, aud: unknown): Promise<boolean> {
    if (tokenClientId === clientId) return true;
    if (authMethod === 'none' || typeof aud !== 'string') return false;
    const c = await this.#o.directory.client(clientId);
    const api = await this.#o.directory.apiByAudience(aud);
    return Boolean(c && api && c.apiIds.includes(api.id));
  }
}

function derive(masterKey: Buffer, info: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), info, 32)));
}

export const deriveKey = derive;

/**
 * RFC 6749 §3.3, §4.1.2.1 and §5.2: a requested scope the client can never be granted for the APIs
 * the request names is refused with invalid_scope, naming it, where oidc-provider would drop it
 * without a word. Checked wherever a request carries `scope` and names (or defaults to) an API: the
 * authorization and device authorization requests and client credentials. A refresh may only narrow
 * what was granted (oidc-provider refuses more, RFC 6749 §6), and its answer reports the scope issued.
 */
function refuseUngrantable(kctx: KoaContextWithOIDC, c: OAuthClient, apis: Api[]): void {
  const scope = kctx.oidc.params?.scope as string | undefined;
  if (scope === undefined || kctx.oidc.params?.grant_type === 'refresh_token') return;
  const beyond = ungrantableScopes(scopeTokens(scope), c.scopes, apis, kctx.oidc.params?.grant_type !== 'client_credentials');
  if (beyond.length)
    throw new errors.InvalidScope(`not granted to this client for ${apis.map((a) => a.name).join(', ')}: ${beyond.join(' ')}`, beyond.join(' '));
}

/**
 * Token endpoint errors that refuse what the request asks, never the code or refresh token it presents:
 * invalid_request and invalid_scope (RFC 6749 §5.2), invalid_target (RFC 8707 §2), invalid_dpop_proof and
 * use_dpop_nonce (RFC 9449 §5, §8). invalid_grant is about the grant itself (RFC 6749 §5.2: invalid,
 * expired, revoked, already used, another client's), and so is a device code's access_denied or
 * expired_token (RFC 8628 §3.5): those are final, and what they consumed stays used.
 */
const REQUEST_REFUSALS = new Set(['invalid_request', 'invalid_scope', 'invalid_target', 'invalid_dpop_proof', 'use_dpop_nonce']);

/**
 * Whether a token request's refusal was for what it asked (noteConsumes then gives back the code or
 * refresh token it consumed, so the client's corrected retry is not a reuse, RFC 9700 §4.14.2). One
 * invalid_grant is the request's too: a code bound to a DPoP key (dpop_jkt, RFC 9449 §10.1) exchanged
 * without a proof of that key, which oidc-provider checks after the consume. Told from the consumed code
 * and the proof sent, not from oidc-provider's wording. A replayed proof (RFC 9449 §11.1) is not a slip
 * to forgive: it stays refused with the code used.
 */
function refusedForTheRequest(provider: Provider) {
  return async (kctx: KoaContextWithOIDC, refusal: unknown): Promise<boolean> => {
    const code = (refusal as { error?: unknown } | null)?.error;
    if (typeof code === 'string' && REQUEST_REFUSALS.has(code)) return true;
    const boundTo = (kctx.oidc?.entities?.AuthorizationCode as { dpopJkt?: unknown } | undefined)?.dpopJkt;
    if (code !== 'invalid_grant' || typeof boundTo !== 'string') return false;
    // A missing or invalid proof is no proof of the bound key: the refusal was the request's, and the code is given back.
    const proof = await validateDpop(provider, kctx).catch(() => undefined);
    return proof?.thumbprint !== boundTo;
  };
}

/**
 * oidc-provider failed to save the session it made up for this request, because none was saved before
 * (no cookie, or one for a session that expired). Told by its message as well: any other failure in
 * such a request stays a reported server error. Should a release reword it, these become 500s again
 * (test/oauth-machine-flows.test.ts says so).
 */
function sentWithoutSession(kctx: object, error: unknown): boolean {
  // Koa's context, with oidc-provider's part if it got as far as making one.
  const session = (kctx as { oidc?: Partial<KoaContextWithOIDC['oidc']> }).oidc?.session;
  return (
    session !== undefined &&
    typeof session.exp !== 'number' &&
    error instanceof TypeError &&
    error.message === 'persist can only be called on previously persisted Sessions'
  );
}
