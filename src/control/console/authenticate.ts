import type { IncomingMessage } from 'node:http';
import type { ProblemCode } from '../../domain/codes.ts';
import { fromOwnOrigin, SAFE_METHODS } from './origin.ts';
import { readCookie, SESSION_COOKIE, type ConsoleSessions, type SessionPrincipal } from './sessions.ts';

export type SessionOutcome = { result: 'ok'; principal: SessionPrincipal } | { result: 'refused'; code: ProblemCode; detail: string };

/** How the admin and portal APIs take the web app's session: the cookie, and for state changes the CSRF token and our origin. */
export interface ConsoleAuthentication {
  hasSessionCookie(req: IncomingMessage): boolean;
  authenticate(req: IncomingMessage): Promise<SessionOutcome>;
}

/**
 * The session a request's cookie names. GET and HEAD need nothing more (they change nothing); every
 * other method needs `X-CSRF-Token` equal to the session's token (constant-time comparison) and an
 * `Origin` of ours (origin.ts). The CSRF check comes after the session is found, so a request
 * without a session is 401 SESSION_REQUIRED, whatever else it lacks.
 */
export function consoleAuthentication(sessions: ConsoleSessions, origins: ReadonlySet<string>): ConsoleAuthentication {
  return {
    hasSessionCookie: (req) => readCookie(req.headers.cookie, SESSION_COOKIE) !== undefined,
    async authenticate(req) {
      const principal = await sessions.authenticate(readCookie(req.headers.cookie, SESSION_COOKIE));
      if (!principal) return { result: 'refused', code: 'SESSION_REQUIRED', detail: 'the session has ended or expired: sign in again at /bff/login' };
      if (!SAFE_METHODS.has(req.method ?? 'GET')) {
        const token = req.headers['x-csrf-token'];
        if (!fromOwnOrigin(req, origins) || !sessions.csrfMatches(principal.sessionId, typeof token === 'string' ? token : undefined)) {
          return { result: 'refused', code: 'CSRF_REJECTED', detail: 'send the session’s X-CSRF-Token (GET /bff/session) from the web app’s own origin' };
        }
      }
      return { result: 'ok', principal };
    },
  };
}
