import type { Dispatcher } from 'undici';
import type { Exchange, RoutedStage, StageResult } from '../exchange.ts';
import type { Upstreams } from '../upstreams.ts';
import { normalHeaderName } from '../header-names.ts';
import { limitBody } from './body-limit.ts';
import { UpstreamAnswer } from './upstream-answer.ts';

/**
 * Request fields never passed on, compared as upstreams compare them (header-names.ts: any case,
 * `_` read as `-`, so `X_Gatehouse_User` is `X-Gatehouse-User` to a WSGI server). Besides these,
 * every `X-Gatehouse-*` field is the gateway's alone.
 */
const DROP_REQUEST = new Set([
  // RFC 9110 §7.6.1 hop-by-hop fields, and Host (the upstream's own is set by the client library).
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  // Node answered a `100-continue` expectation itself (and refuses any other with 417); undici throws
  // on the field (an upstream failure, 502), and its body is sent whole anyway.
  'expect',
  // The caller's credentials stay here.
  'authorization',
  'x-api-key',
  'dpop',
  // Set by the gateway from what it checked: the client address, scheme and host, the request id.
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  'x-request-id',
  // The client address, as other proxies and CDNs name it; frameworks and rate limiters believe these.
  'true-client-ip',
  'x-client-ip',
  'client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-forwarded',
  'forwarded-for',
  'x-original-forwarded-for',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'x-proxyuser-ip',
  'x-envoy-external-address',
  'x-azure-clientip',
  'x-appengine-user-ip',
  // Scheme, host, port and prefix: used to build absolute URLs (password-reset links) and to decide "is this HTTPS".
  'x-forwarded-port',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-url-scheme',
  'front-end-https',
  'x-forwarded-server',
  'x-forwarded-prefix',
  'x-original-host',
  'x-host',
  // The URL to act on instead of the request line (IIS, Symfony, Zend; nginx and Envoy originals).
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-envoy-original-path',
  // The method to act on instead of the request's (refused by the request-head stage; dropped here as well).
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);
/** W3C Trace Context fields: replaced by the gateway's own when it traces. */
const TRACE_CONTEXT = new Set(['traceparent', 'tracestate']);

/**
 * Streams the request to the upstream and the answer back, through a pooled undici client
 * (upstream-answer.ts writes the answer). The caller's credential stays here; the upstream learns who
 * called from X-Gatehouse-* instead.
 */
export function forwardStage(upstreams: Upstreams, maxBodyBytes: number): RoutedStage {
  return (exchange) =>
    new Promise<StageResult>((settle) => {
      const { req, route } = exchange;
      const { api } = route;
      const declared = req.headers['content-length'] !== undefined;
      const hasBody = declared ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
      // A declared length was checked already; a chunked body is counted as it streams.
      const body = !hasBody ? null : declared ? req : req.pipe(limitBody(maxBodyBytes));
      const options: Dispatcher.DispatchOptions = {
        path: route.basePath + exchange.apiPath + exchange.query,
        method: req.method as Dispatcher.HttpMethod,
        headers: upstreamHeaders(exchange),
        body,
        headersTimeout: api.timeoutMs,
        bodyTimeout: api.timeoutMs,
      };
      upstreams.pool(route.origin).dispatch(options, new UpstreamAnswer(exchange, api, maxBodyBytes, body, settle));
    });
}

/**
 * A token's scopes or roles as one header value. A cached token's sets are the same objects on every
 * request, so the value is made once per token, not spread and joined per request.
 */
const spacedSets = new WeakMap<ReadonlySet<string>, string>();
function spaced(set: ReadonlySet<string>): string {
  let text = spacedSets.get(set);
  if (text === undefined) spacedSets.set(set, (text = [...set].join(' ')));
  return text;
}

function upstreamHeaders(exchange: Exchange): string[] {
  const raw = exchange.req.rawHeaders;
  const connectionTokens = exchange.req.headers.connection?.split(',').map((t) => normalHeaderName(t.trim()));
  const out: string[] = [];
  // Tracing on: the upstream's parent is our upstream-call span, whatever the caller sent (a trusted
  // caller's context is carried on in it). Off: the gateway takes no part, and passes them on as they came.
  const { trace } = exchange;
  for (let i = 0; i < raw.length; i += 2) {
    const name = normalHeaderName(raw[i]!);
    if (DROP_REQUEST.has(name) || name.startsWith('x-gatehouse-') || connectionTokens?.includes(name)) continue;
    if (trace !== null && TRACE_CONTEXT.has(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  if (trace !== null) out.push(...trace.upstreamHeaders());
  // The request-head stage checked Host's form; the address is the socket's or a trusted proxy's.
  const host = exchange.req.headers.host;
  out.push('x-forwarded-for', exchange.ip, 'x-real-ip', exchange.ip, 'x-forwarded-proto', exchange.scheme);
  if (exchange.requestId !== null) out.push('x-request-id', exchange.requestId);
  if (host) out.push('x-forwarded-host', host);
  const v = exchange.verification;
  if (v) out.push('x-gatehouse-app', v.appId, 'x-gatehouse-key-id', v.keyId);
  if (exchange.identityJwt !== null) out.push('authorization', `Bearer ${exchange.identityJwt}`);
  const t = exchange.tokenVerification;
  if (t) {
    out.push('x-gatehouse-user', t.claims.sub, 'x-gatehouse-scopes', spaced(t.scopes));
    if (typeof t.claims.client_id === 'string') out.push('x-gatehouse-client', t.claims.client_id);
    if (t.roles.size > 0) out.push('x-gatehouse-roles', spaced(t.roles));
  }
  return out;
}
