import { problem, wwwAuthenticate, writeProblem } from '../http/problem.ts';
import type { Denial, Exchange } from './exchange.ts';
import { rateLimitHeaders } from './rate-limit-headers.ts';
import { nextRequestId } from './request-id.ts';

/** The one place a gateway denial becomes HTTP: status, challenge, Retry-After, limits, problem+json. */
export function renderDenial(exchange: Exchange, denial: Denial): void {
  const { res } = exchange;
  exchange.denialCode = denial.code;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const requestId = (exchange.requestId ??= nextRequestId());
  const challenge = wwwAuthenticate(denial.code, 'gatehouse', denial.scope);
  if (challenge) res.setHeader('WWW-Authenticate', challenge);
  if (denial.retryAfterMs !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(denial.retryAfterMs / 1000))));
  const limits = denial.limits ? rateLimitHeaders(denial.limits) : null;
  if (limits) res.setHeader('RateLimit-Policy', limits.policy).setHeader('RateLimit', limits.state);
  res.setHeader('X-Request-Id', requestId);
  writeProblem(res, problem(denial.code, denial.detail, requestId));
}
