import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { ProblemCode } from '../../domain/codes.ts';
import { usernameSchema } from '../../domain/inputs/identity.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../domain/password-hash.ts';
import { problem, problemAnswer } from '../../http/problem.ts';
import type { FailureThrottle } from '../../limits/failure-throttle.ts';
import { readJson, validate } from '../admin/server.ts';
import { ControlError, type ControlContext } from '../context.ts';
import { portalService } from '../services/portal.ts';
import type { BffEnv } from './bff.ts';
import { fromOwnOrigin } from './origin.ts';

const signupSchema = z.strictObject({
  username: usernameSchema,
  password: z
    .string()
    .min(PASSWORD_MIN_LENGTH, `at least ${PASSWORD_MIN_LENGTH} characters`)
    .max(PASSWORD_MAX_LENGTH, `at most ${PASSWORD_MAX_LENGTH} characters`),
  name: z.string().trim().max(128).nullable().default(null),
  /** The token of an operator's invitation (the `invite` parameter of its link). */
  invite: z.string().min(1).max(128).optional(),
});

/**
 * POST /bff/signup: a developer account, by the portal's sign-up mode (portal.ts). From the web app's
 * own origin only (no session exists yet, so no CSRF token: the Origin check is the defence), and every
 * attempt counts against the address's budget, since each one costs a password hash.
 */
export function signupHandler(o: { ctx: ControlContext; origins: ReadonlySet<string>; throttle: FailureThrottle }) {
  return async (c: Context<BffEnv>): Promise<Response> => {
    const address = c.env.incoming.socket.remoteAddress ?? 'unknown';
    const now = o.ctx.clock();
    const wait = o.throttle.blockedFor(address, now);
    if (wait > 0) {
      const res = render(c, 'AUTH_RATE_LIMITED', 'too many sign-ups from this address; retry later');
      res.headers.set('Retry-After', String(Math.max(1, Math.ceil(wait / 1000))));
      return res;
    }
    if (!fromOwnOrigin(c.env.incoming, o.origins)) return render(c, 'CSRF_REJECTED', 'sign up from the developer portal’s own page');
    o.throttle.recordFailure(address, now);
    try {
      const body = validate(signupSchema, await readJson(c), 'body');
      const result = await portalService.signUp(o.ctx, body);
      return c.json(result, result.status === 'pending' ? 202 : 201);
    } catch (error) {
      if (error instanceof ControlError) return render(c, error.code, error.message, error.fields);
      throw error;
    }
  };
}

function render(c: Context<BffEnv>, code: ProblemCode, detail: string, fields?: Record<string, string>): Response {
  const answer = problemAnswer(problem(code, detail, c.get('requestId') ?? null, fields));
  return c.newResponse(answer.body, answer.status as ContentfulStatusCode, answer.headers);
}
