import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProblemCode } from '../domain/codes.ts';
import type { LimitState } from '../limits/port.ts';
import type { Requirement } from '../domain/auth-requirements.ts';
import type { RefusedKey, VerifiedKey, VerifiedToken } from '../verification/port.ts';
import type { RateLimitHeaders } from './rate-limit-headers.ts';
import type { Route } from './route-table.ts';
import type { RequestTrace } from './tracer.ts';

/** One request's way through the pipeline: what each stage learned so far. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The caller's X-Request-Id when it sent a sane one, ours when it sent a secret there; a denial assigns one if null. */
  requestId: string | null;
  /** Request path as sent, without the query string, and the query string with its `?` (or ''). */
  readonly path: string;
  readonly query: string;
  /**
   * The path in canonical form (domain/canonical-path.ts), set before routing: the only path that is
   * matched against listen paths, route rules and key limits, and the one forwarded.
   */
  canonicalPath: string;
  readonly ip: string;
  /** How the caller reached the gateway: http until TLS termination (or a trusted proxy) says https. */
  readonly scheme: 'http' | 'https';
  readonly now: number;
  /** performance.now() as the request arrived: the start of its duration (monotonic, unlike `now`). */
  readonly arrivedAt: number;
  route: Route | null;
  /** The canonical path below the API's listen path (`/` at least), set with the route. */
  apiPath: string;
  /** What this method and path require, from the API's rules. */
  requirement: Requirement | null;
  /** The API key presented, when the requirement asks for one. */
  credential: string | null;
  /** The key, once verified; a refused key ends the request with its denial instead. */
  verification: VerifiedKey | null;
  /** The access token presented, and how (`Authorization: Bearer` or `DPoP`). */
  token: string | null;
  tokenScheme: 'bearer' | 'dpop';
  /** The access token, once verified (and its DPoP proof, when bound). */
  tokenVerification: VerifiedToken | null;
  /** For a token Gatehouse exchanged for an API key (RFC 8693): that key, checked and counted for this request. */
  parentKey: VerifiedKey | null;
  /** The identity JWT for the upstream, when the API asks for one. */
  identityJwt: string | null;
  /** RateLimit-Policy and RateLimit values, written with the upstream's answer or the denial. */
  rateLimitHeaders: RateLimitHeaders | null;
  /** A key of ours that was refused (status, access, limits...): who made the request, for the request record. */
  refusedKey: RefusedKey | null;
  /** Milliseconds from sending the request upstream to its answer's head (or the failure); null until forwarded. */
  upstreamMs: number | null;
  /** The W3C trace id of this request, when tracing is on. */
  traceId: string | null;
  /** How the pipeline ended (FORWARDED, PREFLIGHT, or the denial code), once it has; and the denial's code. */
  outcome: string | null;
  denialCode: ProblemCode | null;
  /** performance.now() when the answer was over (the response's 'close'); null until then. */
  endedAt: number | null;
  /** This request's trace, when tracing is on. */
  trace: RequestTrace | null;
}

/** A stage's refusal; the renderer turns it into status, headers and problem+json. */
export interface Denial {
  code: ProblemCode;
  detail: string;
  retryAfterMs?: number;
  limits?: readonly LimitState[];
  /** For insufficient_scope: the scopes the request needs (RFC 6750 §3). */
  scope?: readonly string[];
}

/** A stage that answered the request itself (a CORS preflight): nothing more to do, counted as `answered`. */
export interface Answered {
  answered: string;
}

export type StageResult = Denial | Answered | undefined;

/** A step of the pipeline. Synchronous where it can be: most stages never wait. */
export type Stage = (exchange: Exchange) => StageResult | Promise<StageResult>;

/** An exchange past the route stage: its route and this request's requirement are known. */
export type RoutedExchange = Exchange & { route: Route; requirement: Requirement };

/** A stage after `route`, which may rely on what that stage settled (pipeline.ts keeps the order). */
export type RoutedStage = (exchange: RoutedExchange) => StageResult | Promise<StageResult>;
