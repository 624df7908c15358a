import { createHmac, type KeyObject } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import QRCode from 'qrcode';
import { newDeviceBinding, openDeviceCookie, sealDeviceCookie } from '../../domain/device-cookie.ts';
import type { AuditInput, User } from '../../domain/entities.ts';
import { addressSlot } from '../../domain/ip-allowlist.ts';
import { hashesEqual } from '../../domain/key-hash.ts';
import { DECOY_PASSWORD_HASH, verifyPassword } from '../../domain/password-hash.ts';
import { matchRecoveryCode, matchTotp, newRecoveryCodes, newTotpSecret, hashRecoveryCode, totpUri } from '../../domain/totp.ts';
import { STORAGE_RETRY_AFTER_SECONDS } from '../../http/problem.ts';
import type { ThrottleFactory } from '../../limits/port.ts';
import { StorageUnavailableError } from '../../store/port.ts';
import type { ControlContext } from '../context.ts';
import { usersService } from '../services/users.ts';
import type { ClientDirectory } from './client-directory.ts';
import { saveGrant } from './oidc-adapter.ts';
import { consentPage, enrolPage, loginPage, messagePage, mfaPage, recoveryCodesPage } from './views.ts';
import { securityHeaders } from './security-headers.ts';
import { signInRefusal } from '../../domain/sign-in-standing.ts';

export interface InteractionOptions {
  ctx: ControlContext;
  directory: ClientDirectory;
  provider: () => Provider;
  csrfKey: KeyObject;
  /** Signs device cookies; used for nothing else. */
  deviceKey: KeyObject;
  /** Where the issuer lives; a form posted from any other origin is refused. */
  origin: string;
  throttle: {
    /** One account name from one address; also each account's second-factor codes. */
    pair: ThrottleRule;
    /** One address (IPv4, or IPv6 /64), whatever names it tries. */
    address: ThrottleRule;
    /** One account name from everywhere: the much higher bar, for browsers without a device cookie. */
    account: ThrottleRule;
    /** Failures one device cookie may have before it is spent; the cookie's lifetime. */
    device: { limit: number; lifetimeMs: number };
  };
  /** Makes the throttles: in memory, or shared by every node through Redis. */
  throttles: ThrottleFactory;
  /** Failures that are our fault; the browser gets a plain error page without details. */
  onError: (error: unknown) => void;
}

interface ThrottleRule {
  limit: number;
  windowMs: number;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
type Env = { Bindings: HttpBindings; Variables: { details: Details } };

/** A sign-in between password and second factor, kept with the interaction (by its uid). */
interface PendingMfa {
  accountId: string;
  stage: 'verify' | 'enrol' | 'codes';
  sealedSecret?: string;
}
const PENDING_MODEL = 'GatehousePendingMfa';
const PENDING_TTL_MS = 10 * 60_000;

const GENERIC_LOGIN_ERROR = 'The email or password is not right.';
const GENERIC_CODE_ERROR = 'That code is not right.';
const THROTTLED = 'Too many attempts. Wait a few minutes, then try again.';
const PENDING_APPROVAL = 'This account is waiting for an operator’s approval. You can sign in once it is approved.';
/** Path-limited to the sign-in pages, so it never travels with other requests (no __Host- prefix, which needs Path=/). */
const DEVICE_COOKIE = 'gatehouse_device';
const DEVICE_COOKIE_PATH = '/interaction';

/**
 * The interaction pages oidc-provider sends the browser to: sign-in, second factor (with TOTP
 * enrolment when required), consent. Built once with its options; each handler is a short step.
 */
export function createInteractions(o: InteractionOptions): Hono<Env> {
  const { ctx } = o;
  const t = o.throttle;
  // Sign-in failures are counted three ways for browsers the account does not know, so that guessing
  // stays slow without handing strangers a lockout button: per (account, address) and per address,
  // which hold the guesser back, and per account from everywhere, a much higher bar that only
  // slows. A browser with a device cookie for the account counts only against that cookie.
  const pairs = o.throttles({ name: 'signin-pair', ...t.pair });
  const addresses = o.throttles({ name: 'signin-address', ...t.address, perAddress: true });
  const accounts = o.throttles({ name: 'signin-account', ...t.account });
  // Spread over the cookie's lifetime: `limit` failures spend a cookie, which then earns one attempt per lifetime/limit.
  const devices = o.throttles({ name: 'signin-device', limit: t.device.limit, windowMs: t.device.lifetimeMs });
  // Only someone who knew the password gets here, so one count per account is no lockout button.
  const secondFactors = o.throttles({ name: 'signin-second-factor', ...t.pair });
  const throttles = [pairs, addresses, accounts, devices, secondFactors];
  const sweep = setInterval(() => throttles.forEach((throttle) => throttle.sweep(ctx.clock())), 60_000);
  sweep.unref();
  const deviceCookie = { path: DEVICE_COOKIE_PATH, httpOnly: true, secure: o.origin.startsWith('https:'), sameSite: 'Lax' as const };

  const app = new Hono<Env>().basePath('/interaction');
  const csrfFor = (uid: string) => createHmac('sha256', o.csrfKey).update(`interaction:${uid}`).digest('base64url');
  const ip = (c: Context<Env>) => c.env.incoming.socket.remoteAddress ?? 'unknown';
  const details = (c: Context<Env>): Details => c.get('details');
  // Each step's result is merged with what earlier steps of this authorization submitted: the consent
  // step must carry the login before it, or oidc-provider sees `prompt=login` and `max_age=0` as
  // unanswered when it resumes and asks for the password (and second factor) again, for ever with
  // `prompt=login consent`. An error (cancel) is never merged.
  const finish = async (c: Context<Env>, result: InteractionResults) => {
    const to = await o.provider().interactionResult(c.env.incoming, c.env.outgoing, result, { mergeWithLastSubmission: true });
    return c.redirect(to, 303);
  };
  const pending = {
    get: async (uid: string) => (await ctx.identity!.oidcRecords.find(PENDING_MODEL, uid, ctx.clock())) as PendingMfa | null,
    set: (uid: string, value: PendingMfa) => ctx.identity!.oidcRecords.upsert(PENDING_MODEL, uid, { ...value }, ctx.clock() + PENDING_TTL_MS),
    clear: (uid: string) => ctx.identity!.oidcRecords.destroy(PENDING_MODEL, uid),
  };
  const auditLogin = (c: Context<Env>, action: string, targetId: string, after: Record<string, unknown>) =>
    ctx.store.audit.append({ actor: `ip:${ip(c)}`, requestId: null, action, targetType: 'user', targetId, before: null, after });
  const paths = (uid: string) => ({
    login: `/interaction/${uid}/login`,
    mfa: `/interaction/${uid}/mfa`,
    done: `/interaction/${uid}/mfa/done`,
    consent: `/interaction/${uid}/consent`,
    abort: `/interaction/${uid}/abort`,
  });
  /** The device slot of a cookie that is ours, alive, and names this very account; else null. */
  const deviceOf = (cookie: string | undefined, user: User | null, now: number): string | null => {
    const binding = openDeviceCookie(o.deviceKey, cookie, now, t.device.lifetimeMs);
    return binding && user && binding.accountId === user.id ? `${binding.accountId}:${binding.deviceId}` : null;
  };
  const dropDeviceCookie = (c: Context<Env>) => deleteCookie(c, DEVICE_COOKIE, deviceCookie);
  const clientName = async (clientId: unknown) => (await o.directory.client(String(clientId)))?.name ?? String(clientId);

  app.use(securityHeaders());
  // The interaction is the one this browser's cookie names, and it must be the one in the URL: the
  // pending second factor and the CSRF token are keyed by the URL's id, so someone who learned another
  // browser's id must not be able to act on it with their own cookie.
  const bind = async (c: Context<Env>, next: () => Promise<void>) => {
    const found = await o.provider().interactionDetails(c.env.incoming, c.env.outgoing);
    if (found.uid !== c.req.param('uid'))
      return c.html(messagePage('Sign-in expired', 'This sign-in page is not yours or has expired. Start again from the application.'), 400);
    c.set('details', found);
    await next();
  };
  app.use('/:uid', bind);
  app.use('/:uid/*', bind);
  // A sign-in form is a few short fields, and it is read before anything in it is checked: bounded.
  app.use(
    '/:uid/*',
    bodyLimit({
      maxSize: FORM_MAX_BYTES,
      // The rest of the body is not read: the connection ends with this answer (RFC 9112 §9.6).
      onError: (c) => c.html(messagePage('Request refused', 'This form is larger than a sign-in form can be.'), 413, { connection: 'close' }),
    }),
  );
  // Forms post back only from our own pages: a signed token per interaction, and the Origin when sent.
  app.use('/:uid/*', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const origin = c.req.header('origin');
    const form = await c.req.parseBody();
    const token = typeof form.csrf === 'string' ? form.csrf : '';
    if ((origin && origin !== o.origin) || !hashesEqual(token, csrfFor(c.req.param('uid')!))) {
      return c.html(messagePage('Request refused', 'This form was not sent from this sign-in page. Start again from the application.'), 403);
    }
    return next();
  });

  app.get('/:uid', async (c) => {
    const uid = c.req.param('uid');
    const d = details(c);
    if (d.prompt.name === 'login') {
      return c.html(
        loginPage({
          action: paths(uid).login,
          csrf: csrfFor(uid),
          clientName: await clientName(d.params.client_id),
          username: '',
          error: null,
          abort: paths(uid).abort,
        }),
      );
    }
    return c.html(await renderConsent(uid, d));
  });

  app.post('/:uid/login', async (c) => {
    const uid = c.req.param('uid');
    const d = details(c);
    const form = await c.req.parseBody();
    const username = String(form.username ?? '')
      .trim()
      .slice(0, 320);
    const password = String(form.password ?? '');
    const now = ctx.clock();
    const again = (error: string, status: 401 | 403 | 429) =>
      c.html(loginPage({ action: paths(uid).login, csrf: csrfFor(uid), clientName: '', username, error, abort: paths(uid).abort }), status);
    // Counted by the name tried, known or not, so the answer tells nothing about the account.
    const name = username.toLowerCase();
    const address = ip(c);
    const pairSlot = `${name}\n${addressSlot(address)}`;
    // Only a browser holding a device cookie has its user looked up first: the cookie must name that account.
    const cookie = getCookie(c, DEVICE_COOKIE);
    let user = cookie !== undefined && username ? await ctx.store.users.findByUsername(username) : undefined;
    const device = deviceOf(cookie, user ?? null, now);
    const trusted = device !== null && (await devices.blockedFor(device, now)) === 0;
    if (device && !trusted) dropDeviceCookie(c);
    const waits: [string, number][] = trusted
      ? []
      : [
          ['address', await addresses.blockedFor(address, now)],
          ['account_address', await pairs.blockedFor(pairSlot, now)],
          ['account', await accounts.blockedFor(name, now)],
        ];
    const [limit, wait] = waits.reduce((longest, next) => (next[1] > longest[1] ? next : longest), ['', 0]);
    if (wait > 0) {
      await auditLogin(c, 'user.login_throttled', 'unknown', { limit, client_id: d.params.client_id });
      c.header('Retry-After', String(Math.ceil(wait / 1000)));
      return again(THROTTLED, 429);
    }
    if (user === undefined) user = username ? await ctx.store.users.findByUsername(username) : null;
    // An unknown user costs one scrypt like a known one, so timing does not reveal which names exist.
    const passwordOk = await verifyPassword(user?.passwordHash ?? (await DECOY_PASSWORD_HASH), password);
    if (!user || !passwordOk || user.disabled) {
      if (trusted) {
        await devices.recordFailure(device, now);
        if ((await devices.blockedFor(device, now)) > 0) dropDeviceCookie(c);
      } else {
        await Promise.all([addresses.recordFailure(address, now), pairs.recordFailure(pairSlot, now), accounts.recordFailure(name, now)]);
      }
      await auditLogin(c, 'user.login_failed', user?.id ?? 'unknown', {
        reason: !user ? 'unknown_user' : !passwordOk ? 'password' : 'disabled',
        device: trusted,
        client_id: d.params.client_id,
      });
      return again(GENERIC_LOGIN_ERROR, 401);
    }
    // The password is right: this address's slips on this account are forgiven (nobody else could have
    // ended them). The per-address and per-account counts stay: a guesser could otherwise reset them.
    await pairs.forget(pairSlot);
    // A portal sign-up an operator has not approved yet holds the right password but may not sign in to
    // anything (disabled accounts were answered like a wrong password above).
    if (signInRefusal(user) === 'pending_approval') {
      await auditLogin(c, 'user.login_failed', user.id, { reason: 'pending_approval', device: trusted, client_id: d.params.client_id });
      return again(PENDING_APPROVAL, 403);
    }
    if (user.totp?.confirmedAt) {
      await pending.set(uid, { accountId: user.id, stage: 'verify' });
      return c.redirect(paths(uid).mfa, 303);
    }
    if (usersService.mfaRequired(ctx, user)) {
      await pending.set(uid, { accountId: user.id, stage: 'enrol', sealedSecret: ctx.identity!.totpBox.seal(newTotpSecret(), user.id) });
      return c.redirect(paths(uid).mfa, 303);
    }
    return completeLogin(c, user, ['pwd'], d.params.client_id);
  });

  app.get('/:uid/mfa', async (c) => {
    const uid = c.req.param('uid');
    const state = await pending.get(uid);
    if (!state || state.stage === 'codes') return c.redirect(`/interaction/${uid}`, 303);
    return c.html(await renderMfa(uid, state, null));
  });

  app.post('/:uid/mfa', async (c) => {
    const uid = c.req.param('uid');
    const d = details(c);
    const state = await pending.get(uid);
    const user = state ? await ctx.store.users.get(state.accountId) : null;
    if (!state || !user || signInRefusal(user) !== null || state.stage === 'codes') return c.redirect(`/interaction/${uid}`, 303);
    const code = String((await c.req.parseBody()).code ?? '').trim();
    const now = ctx.clock();
    const slot = user.id;
    if ((await secondFactors.blockedFor(slot, now)) > 0) return c.html(await renderMfa(uid, state, THROTTLED), 429);
    if (state.stage === 'enrol') {
      const secret = ctx.identity!.totpBox.open(state.sealedSecret!, user.id);
      const step = matchTotp(secret, code, now, 0);
      if (step === null) {
        await secondFactors.recordFailure(slot, now);
        return c.html(await renderMfa(uid, state, GENERIC_CODE_ERROR), 401);
      }
      const codes = newRecoveryCodes();
      const pepper = ctx.peppers[0]!;
      const enrolled: User = {
        ...user,
        totp: {
          sealedSecret: state.sealedSecret!,
          confirmedAt: now,
          lastStep: step,
          recoveryCodeHashes: codes.map((r) => hashRecoveryCode(r, pepper)),
          pepperId: pepper.id,
        },
        // The new version must differ from the one read, even within one millisecond.
        updatedAt: Math.max(now, user.updatedAt + 1),
      };
      const stored = await ctx.store.users.updateIfUnchanged(enrolled, user.updatedAt, {
        actor: `user:${user.id}`,
        requestId: null,
        action: 'user.mfa_enrolled',
        targetType: 'user',
        targetId: user.id,
        before: null,
        after: { method: 'totp' },
      });
      // Changed since it was read (an operator disabled it, changed its roles): not written over. The
      // page asks for a code again, and that request reads the user as it is now.
      if (!stored) return c.redirect(paths(uid).mfa, 303);
      await pending.set(uid, { accountId: user.id, stage: 'codes' });
      return c.html(recoveryCodesPage({ action: paths(uid).done, csrf: csrfFor(uid), codes }));
    }
    const verified = verifySecondFactor(user, code, now);
    if (!verified) {
      await secondFactors.recordFailure(slot, now);
      await auditLogin(c, 'user.login_failed', user.id, { reason: 'second_factor', client_id: d.params.client_id });
      return c.html(await renderMfa(uid, state, GENERIC_CODE_ERROR), 401);
    }
    // A code is spent only if nobody spent one since we read the user: two racing submissions of one code cannot both pass.
    const spent = await ctx.store.users.updateIfUnchanged(verified.user, user.updatedAt, {
      actor: `user:${user.id}`,
      requestId: null,
      action: verified.method === 'recovery_code' ? 'user.recovery_code_used' : 'user.totp_used',
      targetType: 'user',
      targetId: user.id,
      before: null,
      after: { recoveryCodesLeft: verified.user.totp!.recoveryCodeHashes.length },
    });
    if (!spent) {
      await secondFactors.recordFailure(slot, now);
      return c.html(await renderMfa(uid, state, GENERIC_CODE_ERROR), 401);
    }
    return completeLogin(c, verified.user, ['pwd', 'otp'], d.params.client_id);
  });

  app.post('/:uid/mfa/done', async (c) => {
    const uid = c.req.param('uid');
    const d = details(c);
    const state = await pending.get(uid);
    const user = state?.stage === 'codes' ? await ctx.store.users.get(state.accountId) : null;
    if (!user) return c.redirect(`/interaction/${uid}`, 303);
    return completeLogin(c, user, ['pwd', 'otp'], d.params.client_id);
  });

  app.post('/:uid/consent', async (c) => {
    const d = details(c);
    if (d.prompt.name !== 'consent' || !d.session?.accountId) return c.redirect(`/interaction/${c.req.param('uid')}`, 303);
    const Grant = o.provider().Grant;
    const accountId = d.session.accountId;
    const missing = d.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    // Another authorization in the session may widen the grant at the same time: saveGrant keeps both.
    const grant = await saveGrant(async () => {
      const grant = d.grantId ? await Grant.find(d.grantId) : new Grant({ accountId, clientId: String(d.params.client_id) });
      if (!grant) return undefined;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
      return grant;
    });
    if (!grant) return c.html(messagePage('Sign-in expired', 'Start again from the application.'), 400);
    return finish(c, { consent: d.grantId ? {} : { grantId: grant.jti! } });
  });

  app.get('/:uid/abort', async (c) => {
    await pending.clear(c.req.param('uid'));
    return finish(c, { error: 'access_denied', error_description: 'the user cancelled the sign-in' });
  });

  app.onError((error, c) => {
    if ((error as { name?: string }).name === 'SessionNotFound') {
      return c.html(messagePage('Sign-in expired', 'This sign-in page has expired. Start again from the application.'), 400);
    }
    o.onError(error);
    // The store away: not a broken sign-in but a moment's outage, which the user may retry.
    if (error instanceof StorageUnavailableError) {
      c.header('Retry-After', String(STORAGE_RETRY_AFTER_SECONDS));
      return c.html(messagePage('Try again shortly', 'The sign-in cannot be completed right now. Try again in a few seconds.'), 503);
    }
    return c.html(messagePage('Something went wrong', 'The sign-in could not be completed. Start again from the application.'), 500);
  });

  async function completeLogin(c: Context<Env>, user: User, amr: string[], clientId: unknown) {
    const uid = c.req.param('uid')!;
    await pending.clear(uid);
    const login: AuditInput = {
      actor: `ip:${ip(c)}`,
      requestId: null,
      action: 'user.login',
      targetType: 'user',
      targetId: user.id,
      before: null,
      after: { amr, client_id: clientId },
    };
    if (!(await stampLogin(user.id, login)))
      return c.html(messagePage('Sign-in refused', 'This account cannot sign in. Start again from the application.'), 403);
    // This browser is now known to the account: a new device each time, so failures on an older copy of the cookie stay with it.
    const binding = newDeviceBinding(user.id, ctx.clock());
    setCookie(c, DEVICE_COOKIE, sealDeviceCookie(o.deviceKey, binding), { ...deviceCookie, maxAge: Math.floor(t.device.lifetimeMs / 1000) });
    // `ts` is the moment of this sign-in (auth_time), on oidc-provider's clock, which is the wall clock:
    // without it each resume of the authorization would restamp the session.
    return finish(c, { login: { accountId: user.id, amr, remember: true, ts: Math.floor(Date.now() / 1000) } });
  }

  /**
   * Reads the user again (an admin may have disabled or changed them while they were signing in) and
   * stamps lastLoginAt only if nobody changed it since that read: a change made meanwhile is never
   * written over. False when the user may not sign in. Should others keep changing the user, the
   * sign-in is audited without its stamp: a lost lastLoginAt, never a lost change.
   */
  async function stampLogin(id: string, login: AuditInput): Promise<boolean> {
    for (let attempt = 0; attempt < LOGIN_STAMP_ATTEMPTS; attempt++) {
      const fresh = await ctx.store.users.get(id);
      if (!fresh || signInRefusal(fresh) !== null) return false;
      if (await ctx.store.users.updateIfUnchanged({ ...fresh, lastLoginAt: ctx.clock() }, fresh.updatedAt, login)) return true;
    }
    const fresh = await ctx.store.users.get(id);
    if (!fresh || signInRefusal(fresh) !== null) return false;
    await ctx.store.audit.append(login);
    return true;
  }

  function verifySecondFactor(user: User, code: string, now: number): { user: User; method: 'totp' | 'recovery_code' } | null {
    const totp = user.totp!;
    const step = matchTotp(ctx.identity!.totpBox.open(totp.sealedSecret, user.id), code, now, totp.lastStep);
    // The new version must differ from the one read, even within one millisecond.
    const updatedAt = Math.max(now, user.updatedAt + 1);
    if (step !== null) return { user: { ...user, totp: { ...totp, lastStep: step }, updatedAt }, method: 'totp' };
    const pepper = ctx.peppers.find((p) => p.id === totp.pepperId);
    const index = pepper ? matchRecoveryCode(code, totp.recoveryCodeHashes, pepper) : -1;
    if (index < 0) return null;
    const left = totp.recoveryCodeHashes.filter((_, i) => i !== index);
    return { user: { ...user, totp: { ...totp, recoveryCodeHashes: left }, updatedAt }, method: 'recovery_code' };
  }

  async function renderMfa(uid: string, state: PendingMfa, error: string | null): Promise<string> {
    const p = paths(uid);
    if (state.stage === 'enrol') {
      const user = await ctx.store.users.get(state.accountId);
      const secret = ctx.identity!.totpBox.open(state.sealedSecret!, state.accountId);
      const uri = totpUri(secret, 'Gatehouse', user?.username ?? '');
      // Drawn here, as SVG in the page: no script, and the secret never leaves in an image request.
      const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M' });
      return enrolPage({ action: p.mfa, csrf: csrfFor(uid), secret, uri, qrSvg, error, abort: p.abort });
    }
    return mfaPage({ action: p.mfa, csrf: csrfFor(uid), error, abort: p.abort });
  }

  async function renderConsent(uid: string, d: Details): Promise<string> {
    const missing = d.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
    const apis = await o.directory.apis();
    const resources = Object.keys(missing.missingResourceScopes ?? {});
    const client = await o.directory.client(String(d.params.client_id));
    const developerApp = client?.appId ? ((await ctx.store.apps.get(client.appId))?.name ?? client.appId) : null;
    return consentPage({
      action: paths(uid).consent,
      csrf: csrfFor(uid),
      clientName: client?.name ?? String(d.params.client_id),
      developerApp,
      scopes: [...(missing.missingOIDCScope ?? []), ...Object.values(missing.missingResourceScopes ?? {}).flat()],
      apis: resources.map((r) => apis.find((a) => a.tokens.audience === r)?.name ?? r),
      abort: paths(uid).abort,
    });
  }

  return app;
}

/** Tries of the sign-in's lastLoginAt write while others change the user, before it is left out. */
const LOGIN_STAMP_ATTEMPTS = 3;

/** The largest sign-in, second-factor or consent form taken (a password is at most a few hundred bytes). */
const FORM_MAX_BYTES = 16 * 1024;
