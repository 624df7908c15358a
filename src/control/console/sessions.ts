import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { deriveSubkey } from '../../domain/bearer-hash.ts';
import { consolePermissions, type ConsoleRole } from '../../domain/console-roles.ts';
import type { User } from '../../domain/entities.ts';
import type { AdminPermission } from '../../domain/permissions.ts';
import { createSecretBox, type SecretBox } from '../../domain/secret-box.ts';
import type { ConsoleSession } from '../../store/port.ts';
import type { Actor, ControlContext } from '../context.ts';
import { passedSecondFactor, SECOND_FACTOR_REVOCATION_REASON, signInRefusal } from '../../domain/sign-in-standing.ts';
import { grantsService } from '../services/grants.ts';
import { usersService } from '../services/users.ts';

/** The one cookie the browser holds (RFC 6265bis §4.1.3.2: `__Host-` means Secure, Path=/ and no Domain). */
export const SESSION_COOKIE = '__Host-gatehouse-session';

/** What a session carries server-side: never sent to the browser. */
export interface SessionTokens {
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
}

/** A live session as the control plane acts on it: the user read afresh, their role's permissions, the CSRF token. */
export interface SessionPrincipal {
  /** The cookie's value: needed to derive the CSRF token and to end the session. */
  sessionId: string;
  session: ConsoleSession;
  user: User;
  role: ConsoleRole;
  permissions: AdminPermission[];
  csrfToken: string;
  /** Audited as the person, with their sign-in name beside the id. */
  actor(requestId: string | null): Actor;
}

export interface SessionSettings {
  idleMs: number;
  absoluteMs: number;
}

/** Refreshes a session's tokens with its refresh token: the new tokens, or null when the grant is gone. */
export type TokenRefresher = (tokens: SessionTokens) => Promise<{ tokens: SessionTokens; accessExpiresAt: number } | null>;

/** A use moves the idle end only when it has moved this much, so reading pages does not write on every request. */
const TOUCH_GRANULARITY_MS = 60_000;

/**
 * The web app's sessions: made at the BFF's callback, found by the cookie on every request, ended at
 * sign-out or expiry. The store keeps HMAC-SHA-256 of the id (under a key derived from the master key)
 * and the tokens sealed, bound to that hash. The CSRF token is HMAC of the id under another derived
 * key: nothing more to store, and it cannot be computed from the cookie without the master key.
 */
export class ConsoleSessions {
  readonly #ctx: ControlContext;
  readonly #idKey: KeyObject;
  readonly #csrfKey: KeyObject;
  readonly #box: SecretBox;
  readonly #settings: SessionSettings;
  #refresher: TokenRefresher | null = null;
  /** One refresh per session at a time: a rotating refresh token used twice would revoke the grant (RFC 9700 §4.14.2). */
  readonly #refreshing = new Map<string, Promise<boolean>>();

  constructor(ctx: ControlContext, masterKey: Buffer, settings: SessionSettings) {
    this.#ctx = ctx;
    this.#idKey = deriveSubkey(masterKey, 'gatehouse console session id v1');
    this.#csrfKey = deriveSubkey(masterKey, 'gatehouse console csrf v1');
    this.#box = createSecretBox(masterKey, 'console-session');
    this.#settings = settings;
  }

  set refresher(refresher: TokenRefresher) {
    this.#refresher = refresher;
  }

  hash(sessionId: string): string {
    return createHmac('sha256', this.#idKey).update(sessionId).digest('base64url');
  }

  csrfToken(sessionId: string): string {
    return createHmac('sha256', this.#csrfKey).update(sessionId).digest('base64url');
  }

  /** Whether `presented` is this session's CSRF token, compared in constant time. */
  csrfMatches(sessionId: string, presented: string | undefined): boolean {
    if (!presented) return false;
    const expected = Buffer.from(this.csrfToken(sessionId));
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Starts a session for the user; returns the cookie's value. */
  async begin(user: User, tokens: SessionTokens, accessExpiresAt: number, requestId: string | null): Promise<{ sessionId: string; expiresAt: number }> {
    const now = this.#ctx.clock();
    const sessionId = randomBytes(32).toString('base64url');
    const idHash = this.hash(sessionId);
    const expiresAt = now + this.#settings.absoluteMs;
    await this.#ctx.store.consoleSessions.create(
      {
        idHash,
        userId: user.id,
        sealedTokens: this.#box.seal(JSON.stringify(tokens), idHash),
        accessExpiresAt,
        createdAt: now,
        lastSeenAt: now,
        expiresAt,
        idleExpiresAt: Math.min(expiresAt, now + this.#settings.idleMs),
      },
      {
        actor: `user:${user.id}`,
        actorName: user.username,
        requestId,
        action: 'user.console_signed_in',
        targetType: 'user',
        targetId: user.id,
        before: null,
        after: { role: user.consoleRole ?? null },
      },
    );
    return { sessionId, expiresAt };
  }

  /**
   * The session a cookie names, with its user as stored now: null when there is none, it has ended,
   * the user is gone, disabled, waiting for approval or has no console role any more. A use moves
   * the idle end; an expired access token is refreshed first, and a refresh refused ends the session.
   */
  async authenticate(sessionId: string | undefined): Promise<SessionPrincipal | null> {
    if (!sessionId || sessionId.length > 128) return null;
    const idHash = this.hash(sessionId);
    const now = this.#ctx.clock();
    let session = await this.#ctx.store.consoleSessions.get(idHash, now);
    if (!session) return null;
    const user = await this.#ctx.store.users.get(session.userId);
    const role = user?.consoleRole ?? null;
    if (!user || signInRefusal(user) !== null || !role) {
      await this.#ctx.store.consoleSessions.delete(idHash, null);
      return null;
    }
    if (session.accessExpiresAt <= now) {
      if (!(await this.#refresh(session))) return null;
      session = await this.#ctx.store.consoleSessions.get(idHash, now);
      if (!session) return null;
    } else {
      const standing = await this.#grantStanding(session, user, now);
      if (standing !== 'stands') {
        if (standing !== 'revoked')
          await grantsService.revokeGrant(this.#ctx, { actor: 'system', requestId: null }, standing.revoke, SECOND_FACTOR_REVOCATION_REASON);
        // Its grant was revoked (DELETE /grants/{id}, a refresh token reused, or just above): ended now, not at the next refresh.
        await this.#ctx.store.consoleSessions.delete(idHash, null);
        return null;
      }
    }
    if (now - session.lastSeenAt >= TOUCH_GRANULARITY_MS) {
      const idleExpiresAt = Math.min(session.expiresAt, now + this.#settings.idleMs);
      await this.#ctx.store.consoleSessions.touch(idHash, now, idleExpiresAt);
      session = { ...session, lastSeenAt: now, idleExpiresAt };
    }
    return {
      sessionId,
      session,
      user,
      role,
      permissions: consolePermissions(role),
      csrfToken: this.csrfToken(sessionId),
      actor: (requestId) => ({ actor: `user:${user.id}`, actorName: user.username, requestId }),
    };
  }

  /** The tokens a session holds (for revoking its grant at sign-out). */
  tokens(session: ConsoleSession): SessionTokens {
    return JSON.parse(this.#box.open(session.sealedTokens, session.idHash)) as SessionTokens;
  }

  /** Ends the session (sign-out), audited under the person. */
  async end(principal: SessionPrincipal, requestId: string | null): Promise<void> {
    await this.#ctx.store.consoleSessions.delete(principal.session.idHash, {
      ...principal.actor(requestId),
      action: 'user.console_signed_out',
      targetType: 'user',
      targetId: principal.user.id,
      before: null,
      after: null,
    });
  }

  /** Expired sessions, deleted by the housekeeping task. */
  async sweep(): Promise<number> {
    return this.#ctx.store.consoleSessions.deleteExpired(this.#ctx.clock());
  }

  /**
   * Whether the session's grant still stands: every revocation of a grant deletes its refresh tokens
   * (grants.ts, the adapter's revokeByGrantId), while one used by a refresh stays findable, consumed.
   * Nor does it stand when it was made by a sign-in without a second factor and the user must use one
   * now (a flag, role or console role given since, or a configuration that requires it since): the
   * refresh token keeps the sign-in's `amr`, so this costs no read more, and the token endpoint refuses
   * that grant's refresh alike (authorization-server.ts findAccount). Such a grant is to be revoked.
   * Without a refresh token the session ends with its access token anyway (minutes).
   * `{ revoke }`: the grant to revoke, and the session ends.
   */
  async #grantStanding(session: ConsoleSession, user: User, now: number): Promise<'stands' | 'revoked' | { revoke: string }> {
    const { refreshToken } = this.tokens(session);
    const records = this.#ctx.identity?.oidcRecords;
    if (!refreshToken || !records) return 'stands';
    const record = await records.find('RefreshToken', refreshToken, now);
    if (!record) return 'revoked';
    if (usersService.mfaRequired(this.#ctx, user) && !passedSecondFactor(record.amr))
      return typeof record.grantId === 'string' ? { revoke: record.grantId } : 'revoked';
    return 'stands';
  }

  async #refresh(session: ConsoleSession): Promise<boolean> {
    const running = this.#refreshing.get(session.idHash);
    if (running) return running;
    const work = this.#refreshOnce(session);
    this.#refreshing.set(session.idHash, work);
    try {
      return await work;
    } finally {
      this.#refreshing.delete(session.idHash);
    }
  }

  /**
   * One refresh across the nodes: the map above serialises this node's requests, the store's claim the
   * nodes' (a rotating refresh token presented twice is a reuse, which revokes the grant: RFC 9700
   * §4.14.2). A node that finds the refresh claimed waits for the tokens the claimant stores.
   */
  async #refreshOnce(session: ConsoleSession): Promise<boolean> {
    const sessions = this.#ctx.store.consoleSessions;
    // Counted in polls, not by the clock: a clock that stands still (tests) must not make it wait for ever.
    for (let polls = 0; ; polls++) {
      const now = this.#ctx.clock();
      // Another request may have refreshed it since `session` was read: its refresh token is rotated
      // away, and using it again would be a reuse, which revokes the grant. The tokens stored now stand.
      const current = await sessions.get(session.idHash, now);
      if (!current) return false;
      if (current.sealedTokens !== session.sealedTokens) return true;
      const until = now + REFRESH_CLAIM_MS;
      if (await sessions.claimRefresh(session.idHash, session.sealedTokens, now, until)) return this.#refreshClaimed(session, until);
      // Not a refusal: this request fails, the session stays, and the next request finds the new tokens.
      if (polls * REFRESH_POLL_MS >= REFRESH_WAIT_MS) throw new Error('the session is being refreshed at another node, which has not stored its tokens yet');
      await delay(REFRESH_POLL_MS);
    }
  }

  async #refreshClaimed(session: ConsoleSession, until: number): Promise<boolean> {
    const sessions = this.#ctx.store.consoleSessions;
    const refresher = this.#refresher;
    const tokens = this.tokens(session);
    let next: Awaited<ReturnType<TokenRefresher>>;
    try {
      next = refresher && tokens.refreshToken ? await refresher(tokens) : null;
    } catch (error) {
      // No refresh was made (the token endpoint unreachable): the next request may try at once.
      await sessions.releaseRefresh(session.idHash, until);
      throw error;
    }
    if (!next) {
      // The grant is gone (revoked, signed out everywhere, expired): so is the session.
      await sessions.delete(session.idHash, null);
      return false;
    }
    // Stored over the tokens it was refreshed from only, which also ends the claim.
    await sessions.replaceTokens(session.idHash, session.sealedTokens, this.#box.seal(JSON.stringify(next.tokens), session.idHash), next.accessExpiresAt);
    return true;
  }
}

/**
 * How long a node's claim on a session's refresh stands: longer than a refresh can take (openid-client
 * gives up on the token endpoint after 30 s), so a claim lapses only when its node died mid-refresh.
 */
const REFRESH_CLAIM_MS = 35_000;
/** How long a request waits for another node's refresh of its session before it fails (the session stays). */
const REFRESH_WAIT_MS = 5_000;
const REFRESH_POLL_MS = 50;

/** The value of one cookie in a Cookie header (RFC 6265 §5.4), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
