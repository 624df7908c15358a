import { createServer, type Server } from 'node:http';
import { listen } from './harness.ts';

/**
 * How common frameworks turn a request target into the path they route on. The gateway authorises
 * one path; these show what an upstream behind it would act on, so a test can check the two agree.
 */
export type DecodingMode = 'wsgi' | 'express' | 'spring';

export interface DecodedRequest {
  /** The request target as the upstream received it (path and query). */
  raw: string;
  /** The path the framework routes on, or null when the framework itself refuses the request. */
  route: string | null;
  requestId: string | undefined;
}

/** Whether the framework compares routes without regard to case (Express's default). */
export const CASE_INSENSITIVE: Readonly<Record<DecodingMode, boolean>> = { wsgi: false, express: true, spring: false };

/**
 * PEP 3333: the server percent-decodes the path into PATH_INFO, byte for byte, as latin-1; `%2F`
 * becomes `/`, `%00` a NUL, `%C0%AE` two latin-1 characters. Flask and Django route on that string.
 */
function wsgi(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Express: decodeURIComponent per segment (a malformed escape is a 400), routes compared without
 * case and with an optional trailing slash; `//` is kept, like the segments themselves.
 */
function express(path: string): string | null {
  try {
    return path
      .split('/')
      .map((segment) => decodeURIComponent(segment))
      .join('/')
      .toLowerCase()
      .replace(/(.)\/$/, '$1');
  } catch {
    return null;
  }
}

/**
 * Tomcat and Spring: `;params` stripped from each segment, then percent-decoded (UTF-8), then
 * normalised: `\` read as `/` (the old ALLOW_BACKSLASH), `//` merged, `.` and `..` resolved.
 * Tomcat refuses an encoded `/` (400) and a `..` above the root.
 */
function spring(path: string): string | null {
  if (/%2f/i.test(path)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(
      path
        .split('/')
        .map((segment) => segment.replace(/;.*$/, ''))
        .join('/'),
    );
  } catch {
    return null;
  }
  const out: string[] = [];
  for (const segment of decoded.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(segment);
  }
  return `/${out.join('/')}${decoded.endsWith('/') && out.length > 0 ? '/' : ''}`;
}

const ROUTERS: Readonly<Record<DecodingMode, (path: string) => string | null>> = { wsgi, express, spring };

/** A real HTTP upstream that answers 200 with the path it would route on, and records each request. */
export async function startDecodingUpstream(mode: DecodingMode): Promise<{ url: string; requests: DecodedRequest[]; server: Server }> {
  const requests: DecodedRequest[] = [];
  const server = createServer((req, res) => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const route = ROUTERS[mode](q === -1 ? raw : raw.slice(0, q));
    const requestId = req.headers['x-request-id'];
    requests.push({ raw, route, requestId: typeof requestId === 'string' ? requestId : undefined });
    req.resume();
    res.writeHead(route === null ? 400 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ mode, raw, route }));
  });
  return { url: await listen(server), requests, server };
}

/** Whether `route` is at or under `prefix` (`/admin`: `/admin`, `/admin/...`), as the framework compares. */
export function routesUnder(mode: DecodingMode, route: string, prefix: string): boolean {
  const r = CASE_INSENSITIVE[mode] ? route.toLowerCase() : route;
  const p = CASE_INSENSITIVE[mode] ? prefix.toLowerCase() : prefix;
  return r === p || r.startsWith(`${p}/`);
}
