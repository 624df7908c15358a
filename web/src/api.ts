// The one way the SPA talks to Gatehouse: same-origin fetch with the session cookie, the CSRF
// header on every write, RFC 9457 problems turned into ApiError, 401 -> sign in again.

/** An RFC 9457 problem as Gatehouse answers it (`errors` on validation failures). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { field?: string; pointer?: string; path?: string; message?: string; detail?: string }[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(status: number, problem: Problem) {
    super(problem.detail ?? problem.title ?? `The request failed (HTTP ${status}).`);
    this.status = status;
    this.problem = problem;
  }
  /** Field errors keyed by the field's name inside the body (`body.listenPath` -> `listenPath`). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors ?? []) {
      const raw = e.field ?? e.path ?? e.pointer ?? '';
      const name = raw
        .replace(/^\/+/, '')
        .replaceAll('/', '.')
        .replace(/^(body|query)\./, '');
      const message = e.message ?? e.detail ?? '';
      if (name && message && !(name in out)) out[name] = message;
    }
    return out;
  }
}

let csrfToken = '';
/** Set from /bff/session; sent as X-CSRF-Token on every non-GET request. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Where sign-in starts, coming back to the page the user is on. */
export function signInUrl(returnTo = location.pathname + location.search): string {
  const safe = returnTo.startsWith('/console/') || returnTo.startsWith('/developers/') ? returnTo : '/console/';
  return `/bff/login?returnTo=${encodeURIComponent(safe)}`;
}

async function readProblem(response: Response): Promise<Problem> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      return (await response.json()) as Problem;
    } catch (error) {
      return { title: `The answer could not be read (${String(error)}).`, status: response.status };
    }
  }
  return { title: response.statusText || `HTTP ${response.status}`, status: response.status };
}

export interface CallOptions {
  /** Answer 401 with an ApiError instead of sending the user to sign in (the session probe). */
  allow401?: boolean;
  /** Send this text as the body, with this media type, instead of JSON. */
  raw?: { text: string; contentType: string };
}

/** Calls a same-origin JSON API. A 204 resolves to undefined. */
export async function api<T>(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.raw) headers['content-type'] = options.raw.contentType;
  else if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: options.raw ? options.raw.text : body === undefined ? null : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  if (!response.ok) {
    const problem = await readProblem(response);
    if (response.status === 401 && !options.allow401) {
      // The session ended (expiry, sign-out elsewhere): sign in again and come back here.
      location.assign(signInUrl());
    }
    throw new ApiError(response.status, problem);
  }
  return (await response.json()) as T;
}

/** A GET whose answer is text (a document as it was stored), with the same errors as api(). */
export async function apiText(path: string): Promise<string> {
  const response = await fetch(path, { credentials: 'same-origin' });
  if (!response.ok) {
    const problem = await readProblem(response);
    if (response.status === 401) location.assign(signInUrl());
    throw new ApiError(response.status, problem);
  }
  return response.text();
}

/** Builds a query string from the set values only. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
