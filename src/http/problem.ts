import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { PROBLEMS, type ProblemCode } from '../domain/codes.ts';
import { DPOP_ALGORITHMS } from '../verification/dpop.ts';

/** RFC 9457 problem details with Gatehouse's stable `code`; never carries a secret. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  requestId: string | null;
  errors?: { field: string; message: string }[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Retry-After of a 503 STORAGE_UNAVAILABLE: the store is away, not refusing; a few seconds is worth a retry. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

export function problem(code: ProblemCode, detail: string, requestId: string | null, fields?: Record<string, string>): Problem {
  const kind = PROBLEMS[code];
  const body: Problem = {
    type: `urn:gatehouse:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: kind.title,
    status: kind.status,
    detail,
    code,
    requestId,
  };
  if (fields) body.errors = Object.entries(fields).map(([field, message]) => ({ field, message }));
  return body;
}

/** A problem as it goes on the wire: status, JSON text and the header fields every problem answer has. */
export interface ProblemAnswer {
  status: number;
  body: string;
  headers: { 'content-type': string; 'cache-control': string };
}

/** The one serialisation of a problem, for node:http (writeProblem) and hono (`c.newResponse`) alike. */
export function problemAnswer(body: Problem): ProblemAnswer {
  // A problem answers this request only: no cache may keep it (a 401 or 429 now says nothing about later).
  return { status: body.status, body: JSON.stringify(body), headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' } };
}

/** Writes a problem on a node:http response, with its byte length and any extra fields (`Connection`...). */
export function writeProblem(res: ServerResponse, body: Problem, extra?: OutgoingHttpHeaders): void {
  const answer = problemAnswer(body);
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body), ...extra });
  res.end(answer.body);
}

/**
 * RFC 6750 §3 challenge for a credential problem. Keys travel as bearer credentials, so clients
 * that understand Bearer challenges can react; `error` only when a credential was presented.
 */
export function wwwAuthenticate(code: ProblemCode, realm: string, scope?: readonly string[]): string | null {
  const kind = PROBLEMS[code];
  if (kind.status !== 401 && kind.bearerError !== 'insufficient_scope') return null;
  const error = kind.bearerError ? `, error="${kind.bearerError}", error_description="${kind.title}"` : '';
  // RFC 6750 §3: with insufficient_scope, `scope` names what the request needs.
  const needed = scope && scope.length > 0 && kind.bearerError === 'insufficient_scope' ? `, scope="${scope.join(' ')}"` : '';
  // RFC 9449 §7.1: a DPoP challenge (also for a DPoP-bound token sent as Bearer) names the proof algorithms accepted.
  const scheme = kind.scheme === 'DPoP' ? `DPoP algs="${DPOP_ALGORITHMS.join(' ')}", realm="${realm}"` : `Bearer realm="${realm}"`;
  return `${scheme}${error}${needed}`;
}
