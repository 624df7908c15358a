/**
 * In-process micro-benchmark of what Gatehouse adds to each forwarded request, without sockets, so it
 * is far less noisy than bench/gateway.ts and shows where the per-request CPU goes:
 * the key hash, the whole key verification (cache hit, limiter, usage), and the pipeline's stages
 * before the forward (canonical path, request head, route, failure throttle, credential, verify key + RateLimit headers),
 * and what the request log adds: the record and the buffer on the request path, the entry made at flush.
 *
 *   node bench/hot-path.ts [--iterations 200000]
 *
 * CPU µs per call from process.cpuUsage(), after a warm-up of the same size.
 */
import { parseArgs } from 'node:util';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hashKey } from '../src/domain/key-hash.ts';
import { periodWindow } from '../src/domain/quota-period.ts';
import type { Exchange } from '../src/gateway/exchange.ts';
import { buildPipeline } from '../src/gateway/pipeline.ts';
import { RouteTable } from '../src/gateway/route-table.ts';
import { Upstreams } from '../src/gateway/upstreams.ts';
import { FailureThrottle } from '../src/limits/failure-throttle.ts';
import { newExchange } from '../src/gateway/server.ts';
import { MemoryLimiter } from '../src/limits/memory-limiter.ts';
import { requestRecord } from '../src/gateway/observer.ts';
import { requestLogEntry } from '../src/requests/request-entry.ts';
import { RequestLog } from '../src/requests/request-log.ts';
import { pack } from '../src/writer/store-thread.ts';
import { startSeededGatehouse } from './seed.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '200000' } } });
const N = Number(values.iterations);

const seeded = await startSeededGatehouse('http://127.0.0.1:9');
const { ctx } = seeded.gh;
const pepper = ctx.peppers[0]!;
const facts = { apiId: seeded.apiId, method: 'GET', path: '/items', ip: '127.0.0.1', requiredScopes: [] };

const routes = new RouteTable(await ctx.store.apis.all());
const upstreams = new Upstreams((error) => console.error(error));
const stages = buildPipeline({ onExposed: null, routes: () => routes, verifier: ctx.verifier, tokens: null, checkProof: () => undefined, throttle: new FailureThrottle(30, 60_000), ownIssuer: () => null, limiter: new MemoryLimiter(), counters: { count: () => undefined, used: async () => 0 }, upstreams, maxBodyBytes: 10 * 1024 * 1024, identityJwt: () => null })
  .filter(([name]) => name !== 'forward')
  .map(([, stage]) => stage);
const headers = { host: '127.0.0.1:8080', 'user-agent': 'bench', accept: '*/*', authorization: `Bearer ${seeded.secret}` };
const req = { method: 'GET', url: '/bench/items', headers, rawHeaders: Object.entries(headers).flat(), socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
const res = { setHeader() {}, headersSent: false } as unknown as ServerResponse;

async function beforeForward(): Promise<void> {
  const exchange: Exchange = newExchange(req, res, Date.now());
  for (const stage of stages) {
    const result = stage(exchange);
    const denial = result instanceof Promise ? await result : result;
    if (denial) throw new Error(`denied: ${'code' in denial ? denial.code : denial.answered}`);
  }
}

// The request log's share: on the request path, the record (built once for every observer) and the
// buffer's push; at flush, off the request's latency but on the same thread, the entry per record.
const routed: Exchange = newExchange(req, res, Date.now());
for (const stage of stages) await stage(routed);
const nowhere = { append: async () => undefined, deleteBefore: async () => 0 };
const requestLog = new RequestLog({ sink: nowhere, health: { register() {}, ok() {}, failed() {}, run: async () => undefined }, bufferRecords: 1e7, flushRecords: 1e7, flushIntervalMs: 1000, retentionDays: 7, clock: Date.now });
const record = requestRecord(routed, 0, 1, 100);
const part = Array.from({ length: 1000 }, () => requestLogEntry(record, 'names'));
// postMessage serialises on the sending thread, as the writer's does; the other end is never read.
const channel = new MessageChannel();
let i = 0;

const cases: [string, () => unknown][] = [
  ['hashKey (HMAC-SHA-256 under the pepper)', () => hashKey(seeded.secret, pepper)],
  ["periodWindow('day', now)", () => periodWindow('day', Date.now())],
  ['KeyVerifier.verify (cache hit, limiter, usage)', () => ctx.verifier.verify(seeded.secret, facts)],
  ['pipeline before forward (route … verify-key)', beforeForward],
  ['request log, on the request path: requestRecord + RequestLog.observe', () => requestLog.observe(requestRecord(routed, 0, 1, 100))],
  ['request log, at flush: requestLogEntry per record', () => requestLogEntry(record, 'names')],
  ['request log, at flush: a part of 1,000 entries packed and cloned for the writer thread, per record', () => i++ % 1000 === 0 && channel.port1.postMessage(part.map(pack))],
];

async function measure(fn: () => unknown): Promise<number> {
  const first = fn();
  const isAsync = first instanceof Promise;
  await first;
  for (let i = 0; i < N; i++) isAsync ? await fn() : fn(); // warm-up
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) isAsync ? await fn() : fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / N;
}

console.log(`| per call, ${N} calls after as many warm-up calls | CPU µs |`);
console.log('| --- | ---: |');
for (const [name, fn] of cases) console.log(`| ${name} | ${(await measure(fn)).toFixed(2)} |`);
const verification = await ctx.verifier.verify(seeded.secret, facts);
if (!verification.valid) throw new Error(`the key did not verify: ${verification.code}`);
await requestLog.flush();
channel.port1.close();
await upstreams.close();
await seeded.close();
