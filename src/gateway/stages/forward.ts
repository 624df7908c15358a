import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Exchange, Stage, StageResult } from '../exchange.ts';
import type { Upstreams } from '../upstreams.ts';
import { BODY_TOO_LARGE, limitBody } from './body-limit.ts';

/** RFC 9110 §7.6.1 hop-by-hop fields, plus what only the gateway may set or must not pass on. */
const DROP_REQUEST = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host',
  'authorization', 'x-api-key', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
  'x-gatehouse-app', 'x-gatehouse-key-id', 'x-gatehouse-user', 'x-gatehouse-client', 'x-gatehouse-scopes', 'x-gatehouse-roles',
  'x-request-id', 'dpop',
]);
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'ratelimit', 'ratelimit-policy']);

/**
 * Streams the request to the upstream and the answer back, through a pooled undici client. The
 * caller's credential stays here; the upstream learns who called from X-Gatehouse-* instead.
 */
export function forwardStage(upstreams: Upstreams, maxBodyBytes: number): Stage {
  return (exchange) =>
    new Promise<StageResult>((resolve) => {
      const { req, res, route } = exchange;
      const api = route!.api;
      const declared = req.headers['content-length'] !== undefined;
      const hasBody = declared ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
      const options: Dispatcher.RequestOptions = {
        path: route!.basePath + exchange.apiPath + exchange.query,
        method: req.method as Dispatcher.HttpMethod,
        headers: upstreamHeaders(exchange),
        // A declared length was checked already; a chunked body is counted as it streams.
        body: !hasBody ? null : declared ? req : req.pipe(limitBody(maxBodyBytes)),
        headersTimeout: api.timeoutMs,
        bodyTimeout: api.timeoutMs,
      };
      upstreams.pool(route!.origin).stream(
        options,
        ({ statusCode, headers }) => {
          res.writeHead(statusCode, responseHeaders(headers, exchange));
          return res;
        },
        (error: (Error & { code?: string }) | null) => {
          if (!error) return resolve(undefined);
          if (res.headersSent) {
            res.destroy();
            return resolve(undefined);
          }
          if (error.code === BODY_TOO_LARGE || (error.cause as { code?: string } | undefined)?.code === BODY_TOO_LARGE) {
            return resolve({ code: 'BODY_TOO_LARGE', detail: `the body may be at most ${maxBodyBytes} bytes` });
          }
          resolve(upstreamFailure(error.code, api.name, api.timeoutMs));
        },
      );
    });
}

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function upstreamFailure(code: string | undefined, apiName: string, timeoutMs: number): StageResult {
  return code !== undefined && TIMEOUTS.has(code)
    ? { code: 'UPSTREAM_TIMEOUT', detail: `the upstream of ${apiName} did not answer within ${timeoutMs} ms` }
    : { code: 'UPSTREAM_UNAVAILABLE', detail: `the upstream of ${apiName} could not be reached` };
}

function upstreamHeaders(exchange: Exchange): string[] {
  const raw = exchange.req.rawHeaders;
  const connectionTokens = exchange.req.headers.connection?.toLowerCase().split(',').map((t) => t.trim());
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (DROP_REQUEST.has(name) || connectionTokens?.includes(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  const host = exchange.req.headers.host;
  out.push('x-forwarded-for', exchange.ip, 'x-forwarded-proto', exchange.scheme);
  if (exchange.requestId !== null) out.push('x-request-id', exchange.requestId);
  if (host) out.push('x-forwarded-host', host);
  const v = exchange.verification;
  if (v?.valid) out.push('x-gatehouse-app', v.appId!, 'x-gatehouse-key-id', v.keyId!);
  if (exchange.identityJwt !== null) out.push('authorization', `Bearer ${exchange.identityJwt}`);
  const t = exchange.tokenVerification;
  if (t?.valid) {
    out.push('x-gatehouse-user', t.claims!.sub, 'x-gatehouse-scopes', [...t.scopes].join(' '));
    if (typeof t.claims!.client_id === 'string') out.push('x-gatehouse-client', t.claims!.client_id);
    if (t.roles.size > 0) out.push('x-gatehouse-roles', [...t.roles].join(' '));
  }
  return out;
}

/** The upstream's answer without hop-by-hop fields; Gatehouse's own RateLimit fields replace any it sent. */
function responseHeaders(upstream: IncomingHttpHeaders, exchange: Exchange): IncomingHttpHeaders {
  const connectionTokens = typeof upstream.connection === 'string' ? upstream.connection.toLowerCase().split(',').map((t) => t.trim()) : null;
  const out: IncomingHttpHeaders = {};
  for (const name in upstream) {
    if (!DROP_RESPONSE.has(name) && !connectionTokens?.includes(name)) out[name] = upstream[name];
  }
  const limits = exchange.rateLimitHeaders;
  if (limits) (out['ratelimit-policy'] = limits.policy), (out.ratelimit = limits.state);
  return out;
}
