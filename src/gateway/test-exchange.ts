import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { duplexPair } from 'node:stream';
import type { ClientOrigin } from './client-origin.ts';
import { compileRequirements } from '../domain/auth-requirements.ts';
import type { Api, ApiAuth } from '../domain/entities.ts';
import type { Denial, Exchange, RoutedExchange, StageResult } from './exchange.ts';
import type { RequestRecord } from './observer.ts';
import { newExchange } from './server.ts';

/**
 * For the stage tests: an Exchange for a request as Node's own HTTP parser reads it, so header
 * spellings, duplicates and the request target are what a stage meets in production. The request
 * bytes go through an http.Server that never listens (its connection is one end of an in-memory
 * duplex pair): no socket, no port.
 */
export interface RequestHead {
  method?: string;
  /** The request target as sent: path and query. */
  target?: string;
  /** Header lines in order, names as spelled; a Host is added unless one is given. */
  headers?: readonly (readonly [string, string])[];
}

export const TEST_NOW = Date.UTC(2026, 10, 29, 12);

export async function exchangeFor(head: RequestHead = {}, origin: Partial<ClientOrigin> = {}, now = TEST_NOW): Promise<Exchange> {
  const { req, res } = await parseRequest(head);
  return newExchange(req, res, now, { ip: origin.ip ?? '198.51.100.7', scheme: origin.scheme ?? 'https' });
}

/** An exchange as the stages after routing see it: routed to a test API with these auth settings. */
export async function routedExchangeFor(auth: ApiAuth, head: RequestHead = {}, origin: Partial<ClientOrigin> = {}, now = TEST_NOW): Promise<RoutedExchange> {
  const exchange = await exchangeFor(head, origin, now);
  const api: Api = {
    id: 'api_test',
    name: 'test',
    listenPath: '/',
    upstreamUrl: 'http://127.0.0.1:9',
    auth,
    tokens: { audience: 'urn:gatehouse:api:test', accessTokenTtlSeconds: 900 },
    timeoutMs: 30_000,
    createdAt: now,
    updatedAt: now,
  };
  const requirements = compileRequirements(auth);
  const route = { api, requirements, caseInsensitive: false, origin: 'http://127.0.0.1:9', basePath: '' };
  return Object.assign(exchange, { route, requirement: requirements(head.method ?? 'GET', exchange.apiPath) });
}

function parseRequest(head: RequestHead): Promise<{ req: IncomingMessage; res: ServerResponse }> {
  const headers = head.headers ?? [];
  const lines = headers.some(([name]) => name.toLowerCase() === 'host') ? headers : [['Host', 'gateway.example'] as const, ...headers];
  const bytes = `${head.method ?? 'GET'} ${head.target ?? '/'} HTTP/1.1\r\n${lines.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => resolve({ req, res }));
    server.on('clientError', (error: Error) => reject(error));
    const [client, connection] = duplexPair();
    server.emit('connection', connection);
    client.write(bytes);
  });
}

/** A stage's result as a denial (or undefined when it passed); a stage that answered the request itself fails the test. */
export async function denialOf(result: StageResult | Promise<StageResult>): Promise<Denial | undefined> {
  const settled = await result;
  if (settled && 'answered' in settled) throw new Error(`the stage answered the request itself (${settled.answered})`);
  return settled;
}

/** For observer tests: a forwarded GET through an API `orders` with key_1 of app_1; override what a test is about. */
export function testRequestRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    startedAt: TEST_NOW,
    durationMs: 1,
    apiId: 'api_1',
    api: 'orders',
    route: '/orders',
    method: 'GET',
    path: '/orders/items',
    query: '',
    status: 200,
    outcome: 'FORWARDED',
    denialCode: null,
    upstreamMs: 0.5,
    bytesIn: 0,
    bytesOut: 10,
    keyId: 'key_1',
    appId: 'app_1',
    user: null,
    clientId: null,
    ip: '192.0.2.1',
    userAgent: null,
    requestId: null,
    traceId: null,
    aborted: false,
    ...overrides,
  };
}
