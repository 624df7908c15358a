import { randomBytes } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as oidc from 'openid-client';
import type { ProblemCode } from '../../domain/codes.ts';
import { createSecretBox } from '../../domain/secret-box.ts';
import { problem, problemAnswer, STORAGE_RETRY_AFTER_SECONDS } from '../../http/problem.ts';
import { StorageUnavailableError } from '../../store/port.ts';
import type { ControlContext } from '../context.ts';
import { messagePage } from '../authorization/views.ts';
import { PAGE_HEADERS } from '../authorization/security-headers.ts';
import { fromOwnOrigin, safeReturnTo } from './origin.ts';
import { readCookie, SESSION_COOKIE, type ConsoleSessions, type SessionPrincipal, type SessionTokens } from './sessions.ts';
import { signInRefusal } from '../../domain/sign-in-standing.ts';

/** The sign-in in progress (state, nonce, PKCE verifier, where to go back): sealed, in a cookie of its own for 10 minutes. */
export const LOGIN_COOKIE = '__Host-gatehouse-login';
const LOGIN_TTL_MS = 600_000;
/** A sign-up's body: an address, a password, a name and an invitation token are far below this. */
const SIGNUP_MAX_BYTES = 16_384;

export type BffEnv = { Bindings: HttpBindings; Variables: { requestId: string } };
type Env = BffEnv;

export interface BffOptions {
  ctx: ControlContext;
  sessions: ConsoleSessions;
  masterKey: Buffer;
  /** Our own issuer: the web app signs in there like any client. */
  issuer: string;
  client: { id: string; secret: string };
  /** Origins the web app is served from (the issuer's); state changes must name one. */
  origins: ReadonlySet<string>;
  onError: (error: unknown) => void;
  /** POST /bff/signup (the portal's sign-up), when the portal is on. */
  signup?: (c: Context<Env>) => Promise<Response>;
}

export interface Bff {
  app: Hono<Env>;
  /** Refreshes a session's tokens with its refresh token (the sessions call it when the access token has expired). */
  refresh(tokens: SessionTokens): Promise<{ tokens: SessionTokens; accessExpiresAt: number } | null>;
}

/**
 * The backend-for-frontend (draft-ietf-oauth-browser-based-apps §6.1): the control plane signs the
 * browser in through its own authorization server with the code flow (PKCE S256, state, nonce),
 * keeps the tokens, and gives the browser one cookie naming a server-side session. MFA, throttling
 * and every other sign-in rule apply, since the sign-in goes through the normal interaction pages.
 */
export function createBff(o: BffOptions): Bff {
  const { ctx, sessions } = o;
  const redirectUri = new URL('/bff/callback', o.issuer).href;
  const loginBox = createSecretBox(o.masterKey, 'console-login');
  const insecure = new URL(o.issuer).protocol === 'http:';
  let configuration: Promise<oidc.Configuration> | null = null;
  // Discovered on first use (the provider answers only once the control plane listens), kept after.
  const config = (): Promise<oidc.Configuration> => {
    configuration ??= oidc
      .discovery(new URL(o.issuer), o.client.id, { redirect_uris: [redirectUri] }, oidc.ClientSecretBasic(o.client.secret), {
        // Our own issuer without TLS is served only to this machine (control-server.ts refuses credentials from others).
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .catch((error: unknown) => {
        configuration = null;
        throw error;
      });
    return configuration;
  };
  const expiryOf = (expiresIn: number | undefined) => ctx.clock() + (expiresIn ?? 300) * 1000;
  const tokensOf = (r: oidc.TokenEndpointResponse): SessionTokens => ({
    accessToken: r.access_token,
    refreshToken: r.refresh_token ?? null,
    idToken: r.id_token ?? null,
  });

  const app = new Hono<Env>().basePath('/bff');
  app.use(async (c, next) => {
    c.set('requestId', randomBytes(12).toString('base64url'));
    c.header('X-Request-Id', c.get('requestId'));
    c.header('Cache-Control', 'no-store');
    await next();
  });

  app.get('/login', async (c) => {
    // The session cookie is set on the issuer's origin: a browser that came by another name (localhost
    // for 127.0.0.1) starts over there, or the callback would not find its sign-in cookie.
    const here = `${new URL(c.req.url).protocol}//${c.req.header('host') ?? ''}`;
    const issuerOrigin = new URL(o.issuer).origin;
    if (!o.origins.has(here) || here !== issuerOrigin) {
      const again = new URL('/bff/login', issuerOrigin);
      const returnTo = c.req.query('returnTo');
      if (returnTo) again.searchParams.set('returnTo', returnTo);
      return c.redirect(again.href, 302);
    }
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const returnTo = safeReturnTo(c.req.query('returnTo'), '');
    const url = oidc.buildAuthorizationUrl(await config(), {
      redirect_uri: redirectUri,
      scope: 'openid',
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // A fresh sign-in each time: the console never rides on an earlier session at the authorization server.
      prompt: 'login',
    });
    const sealed = loginBox.seal(JSON.stringify({ state, nonce, verifier, returnTo, exp: ctx.clock() + LOGIN_TTL_MS }), LOGIN_COOKIE);
    // SameSite=Lax: the callback is a top-level navigation that a cross-site start (a bookmark, a link in mail) may lead to.
    c.header('Set-Cookie', `${LOGIN_COOKIE}=${sealed}; Path=/; Max-Age=${LOGIN_TTL_MS / 1000}; HttpOnly; Secure; SameSite=Lax`);
    return c.redirect(url.href, 302);
  });

  app.get('/callback', async (c) => {
    const raw = readCookie(c.req.header('cookie'), LOGIN_COOKIE);
    c.header('Set-Cookie', `${LOGIN_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`, { append: true });
    const login = raw ? openLogin(raw) : null;
    if (!login || login.exp <= ctx.clock()) {
      return page(c, 400, 'Sign-in expired', 'This sign-in was started too long ago or in another browser. Start again.', '/bff/login');
    }
    const current = new URL(redirectUri);
    current.search = new URL(c.req.url).search;
    let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
    try {
      tokens = await oidc.authorizationCodeGrant(await config(), current, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      // Our authorization server's store is away (503 temporarily_unavailable, which openid-client takes for a
      // nonconforming answer, RFC 6749 §5.2 naming 400): a moment's outage, answered as the sign-in pages and
      // the admin API answer one, not as a sign-in gone wrong.
      if (error instanceof oidc.ClientError && (error.cause as { status?: unknown } | undefined)?.status === 503) {
        c.header('Retry-After', String(STORAGE_RETRY_AFTER_SECONDS));
        return page(c, 503, 'Try again shortly', 'The sign-in cannot be completed right now. Try again in a few seconds.', '/bff/login');
      }
      // The user cancelled, or the answer failed a check (state, nonce, issuer): no session.
      if (!(error instanceof oidc.AuthorizationResponseError || error instanceof oidc.ResponseBodyError || error instanceof oidc.ClientError)) o.onError(error);
      return page(c, 400, 'Sign-in did not complete', 'The sign-in was cancelled or could not be checked. Start again.', '/bff/login');
    }
    const sub = tokens.claims()?.sub;
    const user = sub ? await ctx.store.users.get(sub) : null;
    if (!user || signInRefusal(user) !== null || !user.consoleRole) {
      if (tokens.refresh_token) await revoke(tokens.refresh_token);
      const why = user?.pendingApproval
        ? 'Your account is waiting for an operator’s approval.'
        : 'Your account has no access to the web app: ask an operator for a console role.';
      return page(c, 403, 'No access', why, null);
    }
    const { sessionId } = await sessions.begin(user, tokensOf(tokens), expiryOf(tokens.expires_in), c.get('requestId'));
    c.header('Set-Cookie', `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; Secure; SameSite=Strict`, { append: true });
    return c.redirect(login.returnTo || (user.consoleRole === 'developer' ? '/developers/' : '/console/'), 302);
  });

  app.get('/session', async (c) => {
    const principal = await sessions.authenticate(readCookie(c.req.header('cookie'), SESSION_COOKIE));
    if (!principal) return render(c, 'SESSION_REQUIRED', 'sign in at /bff/login');
    return c.json(sessionView(principal));
  });

  app.post('/logout', async (c) => {
    const principal = await sessions.authenticate(readCookie(c.req.header('cookie'), SESSION_COOKIE));
    if (principal) {
      if (!fromOwnOrigin(c.env.incoming, o.origins) || !sessions.csrfMatches(principal.sessionId, c.req.header('x-csrf-token'))) {
        return render(c, 'CSRF_REJECTED', 'send the session’s X-CSRF-Token from the web app’s own origin');
      }
      // The grant goes with the session: its refresh token is revoked at our authorization server (RFC 7009), which revokes the grant.
      const { refreshToken } = sessions.tokens(principal.session);
      if (refreshToken) await revoke(refreshToken);
      await sessions.end(principal, c.get('requestId'));
    }
    c.header('Set-Cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`);
    return c.body(null, 204);
  });

  // Open to anyone: bounded before it is read, as the admin and portal APIs' bodies are.
  const signupLimit = bodyLimit({
    maxSize: SIGNUP_MAX_BYTES,
    onError: (c) => render(c, 'BODY_TOO_LARGE', `the body may be at most ${SIGNUP_MAX_BYTES} bytes`),
  });
  if (o.signup) app.post('/signup', signupLimit, o.signup);

  app.notFound((c) => render(c, 'RESOURCE_NOT_FOUND', `no ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError((error, c) => {
    o.onError(error);
    // The store away (sign-up, session, sign-out): a retry soon may succeed, as in the admin and portal APIs.
    if (error instanceof StorageUnavailableError) {
      const res = render(c, 'STORAGE_UNAVAILABLE', 'the store cannot take changes right now; nothing was changed: retry later');
      res.headers.set('Retry-After', String(STORAGE_RETRY_AFTER_SECONDS));
      return res;
    }
    return render(c, 'INTERNAL', 'an unexpected error; the request id identifies it in the logs');
  });

  function openLogin(raw: string): { state: string; nonce: string; verifier: string; returnTo: string; exp: number } | null {
    try {
      return JSON.parse(loginBox.open(raw, LOGIN_COOKIE)) as { state: string; nonce: string; verifier: string; returnTo: string; exp: number };
    } catch {
      // Not sealed by us (altered, or from before a master-key change): the sign-in starts over.
      return null;
    }
  }

  async function revoke(refreshToken: string): Promise<void> {
    try {
      await oidc.tokenRevocation(await config(), refreshToken, { token_type_hint: 'refresh_token' });
    } catch (error) {
      // The session ends either way; a grant left behind is reported (and expires with its refresh token).
      o.onError(error);
    }
  }

  return {
    app,
    async refresh(tokens) {
      if (!tokens.refreshToken) return null;
      try {
        const r = await oidc.refreshTokenGrant(await config(), tokens.refreshToken);
        return {
          tokens: { ...tokensOf(r), idToken: r.id_token ?? tokens.idToken, refreshToken: r.refresh_token ?? tokens.refreshToken },
          accessExpiresAt: expiryOf(r.expires_in),
        };
      } catch (error) {
        // A refusal (invalid_grant: revoked, expired or signed out everywhere; invalid_client): the session ends.
        const refused = error instanceof oidc.ResponseBodyError || error instanceof oidc.WWWAuthenticateChallengeError;
        if (refused && error.status < 500) return null;
        // Not a refusal (unreachable, 5xx): this request fails, the session stays for the next one to refresh.
        throw error;
      }
    },
  };
}

/** GET /bff/session's answer (docs/console.md; the web app's contract). */
export function sessionView(p: SessionPrincipal) {
  return {
    user: { id: p.user.id, name: p.user.username, ...(p.user.name ? { displayName: p.user.name } : {}) },
    role: p.role,
    permissions: p.permissions,
    csrfToken: p.csrfToken,
    expiresAt: new Date(p.session.idleExpiresAt).toISOString(),
  };
}

function render(c: Context<Env>, code: ProblemCode, detail: string): Response {
  const answer = problemAnswer(problem(code, detail, c.get('requestId') ?? null));
  return c.newResponse(answer.body, answer.status as ContentfulStatusCode, answer.headers);
}

function page(c: Context<Env>, status: ContentfulStatusCode, title: string, message: string, retry: string | null): Response {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) c.header(name, value);
  const body = messagePage(title, message, retry ? { 'Try again': retry } : {});
  return c.html(body, status);
}
