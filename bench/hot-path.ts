/**
 * In-process micro-benchmark of what Gatehouse adds to each forwarded request, without sockets, so it
 * is far less noisy than bench/gateway.ts and shows where the per-request CPU goes:
 * the key hash, the whole key verification (cache hit, limiter, usage), and the pipeline's stages
 * before the forward (canonical path, request head, route, failure throttle, credential, verify key + RateLimit headers),
 * with tracing off (no span objects), on with every request sampled, and on with every request sampled out,
 * and what the request log adds: the record and the buffer on the request path, the entry made at flush,
 * and what usage analytics add: the observer (one combination, and 10,000 keys in turn) and the cells' trip to the writer.
 *
 *   node bench/hot-path.ts [--iterations 200000] [--no-metrics] [--routes 1] [--stored-keys 1] [--stages]
 *
 * With metrics on (the default, as in production) the verifier reports cache lookups and verdicts, and
 * two more lines measure the request observer that metrics add after each answer (and prom-client's own
 * observe, for comparison); --no-metrics runs the same Gatehouse with `metrics.enabled: false`.
 *
 * `--routes N`: N APIs in the route table (all below /bench: one first segment); `--stored-keys N`:
 * N keys in the store (one of them presented). Issue 14's flat cost: the lines should not move with either.
 * `--stages`: the pipeline before the forward once more, cut after each stage in turn (each line less the one
 * before is that stage's cost).
 *
 * CPU µs per call from process.cpuUsage(), after a warm-up of the same size.
 */
import { parseArgs } from 'node:util';
import { Histogram, Registry } from 'prom-client';
import type { RequestRecord } from '../src/gateway/observer.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hashKey } from '../src/domain/key-hash.ts';
import { periodWindow } from '../src/domain/quota-period.ts';
import type { Exchange } from '../src/gateway/exchange.ts';
import { buildPipeline } from '../src/gateway/pipeline.ts';
import { RouteTable } from '../src/gateway/route-table.ts';
import { Upstreams } from '../src/gateway/upstreams.ts';
import { FailureThrottle } from '../src/limits/failure-throttle.ts';
import { newExchange, requestRecord } from '../src/gateway/server.ts';
import { MemoryLimiter } from '../src/limits/memory-limiter.ts';
import { requestLogEntry } from '../src/requests/request-entry.ts';
import { RequestLog } from '../src/requests/request-log.ts';
import { UsageAnalytics } from '../src/usage/analytics.ts';
import type { UsageCell } from '../src/store/port.ts';
import { encodeBatch, pack } from '../src/store/entry-batch.ts';
import { startSeededGatehouse } from './seed.ts';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stage } from '../src/gateway/exchange.ts';
import { gatewayTracer } from '../src/telemetry/gateway-tracing.ts';
import { Tracing, type TracingSettings } from '../src/telemetry/tracing.ts';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '200000' },
    metrics: { type: 'boolean', default: true },
    routes: { type: 'string', default: '1' },
    'stored-keys': { type: 'string', default: '1' },
    stages: { type: 'boolean', default: false },
  },
  allowNegative: true,
});
const N = Number(values.iterations);

const seeded = await startSeededGatehouse('http://127.0.0.1:9', 'apiKey', {
  metrics: values.metrics,
  routes: Number(values.routes),
  storedKeys: Number(values['stored-keys']),
});
const { ctx } = seeded.gh;
const pepper = ctx.peppers[0]!;
const facts = { apiId: seeded.apiId, method: 'GET', path: '/items', ip: '127.0.0.1', requiredScopes: [] };

const routes = new RouteTable(await ctx.store.apis.all());
const upstreams = new Upstreams((error) => console.error(error));
const pipeline = buildPipeline({
  refusePlaintext: false,
  onExposed: () => {},
  routes: () => routes,
  verifier: ctx.verifier,
  tokens: null,
  checkProof: () => undefined,
  throttle: new FailureThrottle(30, 60_000),
  ownIssuer: () => null,
  limiter: new MemoryLimiter(),
  counters: { count: () => undefined, used: async () => 0 },
  upstreams,
  maxBodyBytes: 10 * 1024 * 1024,
  identityJwt: () => null,
}).filter(([name]) => name !== 'forward');
const stages = pipeline.map(([, stage]) => stage);
const headers = { host: '127.0.0.1:8080', 'user-agent': 'bench', accept: '*/*', authorization: `Bearer ${seeded.secret}` };
const req = {
  method: 'GET',
  url: '/bench/items',
  headers,
  rawHeaders: Object.entries(headers).flat(),
  socket: { remoteAddress: '127.0.0.1' },
} as unknown as IncomingMessage;
const res = { setHeader() {}, headersSent: false } as unknown as ServerResponse;
// Spans need the response's 'close' event: they end there.
const tracedRes = Object.assign(new EventEmitter(), {
  setHeader() {},
  headersSent: true,
  statusCode: 200,
  writableFinished: true,
}) as unknown as ServerResponse;

/** A collector that takes everything; the batch delay is longer than the run, so spans queue (then are dropped) and only the last flush sends. */
const collector = createServer((r, answer) => r.resume().on('end', () => answer.writeHead(200, { 'content-type': 'application/json' }).end('{}')));
await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
/** Tracing on: the cost of making, filling and ending the spans. */
const tracingFor = (sampleRatio: number) => {
  const settings: TracingSettings = {
    endpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`,
    headers: {},
    serviceName: 'bench',
    serviceVersion: '0',
    resourceAttributes: {},
    sampleRatio,
    parentBased: true,
    trustIncomingTraceparentFrom: [],
    scheduledDelayMs: 60_000,
    maxQueueSize: 2048,
    maxExportBatchSize: 512,
    exportTimeoutMs: 1000,
    compression: 'none',
  };
  const tracing = new Tracing(settings, { ok() {}, failed() {} });
  const tracer = gatewayTracer(tracing);
  return { tracing, tracer, stages: pipeline.map(([name, stage]) => tracer.wrap(name, stage)) };
};
const sampled = tracingFor(1);
const sampledOut = tracingFor(0);

async function beforeForward(): Promise<void> {
  await runStages(stages, newExchange(req, res, Date.now()));
}

function tracedBeforeForward(t: ReturnType<typeof tracingFor>): () => Promise<void> {
  return async () => {
    const exchange = newExchange(req, tracedRes, Date.now());
    exchange.trace = t.tracer.start(exchange);
    await runStages(t.stages, exchange);
    exchange.trace.outcome('FORWARDED');
    tracedRes.emit('close');
  };
}

async function runStages(stages: readonly Stage[], exchange: Exchange): Promise<void> {
  for (const stage of stages) {
    const result = stage(exchange);
    const denial = result instanceof Promise ? await result : result;
    if (denial) throw new Error(`denied: ${'code' in denial ? denial.code : denial.answered}`);
  }
}

/** A forwarded request as the gateway's observers receive it. */
const record: RequestRecord = {
  startedAt: Date.now(),
  durationMs: 0.42,
  api: 'bench',
  apiId: seeded.apiId,
  route: '/bench',
  method: 'GET',
  path: '/bench/items',
  query: '',
  status: 200,
  outcome: 'FORWARDED',
  denialCode: null,
  upstreamMs: 0.31,
  bytesIn: 0,
  bytesOut: 87,
  keyId: 'key_x',
  appId: 'app_x',
  user: null,
  clientId: null,
  ip: '127.0.0.1',
  userAgent: 'bench',
  requestId: null,
  traceId: null,
  aborted: false,
};
const promClient = new Histogram({
  name: 'bench_duration_seconds',
  help: 'comparison',
  labelNames: ['api', 'http_route', 'http_request_method', 'http_response_status_code'],
  registers: [new Registry()],
});
const promChild = promClient.labels('bench', '/bench', 'GET', '200');

// The request log's share: on the request path, the record (built once for every observer) and the
// buffer's push; at flush, off the request's latency but on the same thread, the entry per record.
const routed: Exchange = newExchange(req, res, Date.now());
for (const stage of stages) await stage(routed);
// Batches taken as they are, as the writer thread's sink does (its clone is measured on its own below).
const nowhere = { append: async () => undefined, deleteBefore: async () => 0 };
let logged = 0;
const requestLog = new RequestLog({
  sink: nowhere,
  health: { register() {}, ok() {}, failed() {}, run: async () => undefined },
  bufferRecords: 1e7,
  flushRecords: 1e7,
  flushIntervalMs: 1000,
  retentionDays: 7,
  clock: Date.now,
});
const part = Array.from({ length: 1000 }, () => requestLogEntry(record, 'names'));
// The request log encodes entries as they are observed: a flush only clones the batch's bytes.
const partBatch = encodeBatch(part.map(pack))!;
// postMessage serialises on the sending thread, as the writer's does; the other end is never read.
const channel = new MessageChannel();
let i = 0;

// Usage analytics: the observer finds the request's cell and adds to it; at flush, cells are cloned to the writer.
const quietHealth = { register() {}, ok() {}, failed() {}, run: async () => undefined };
const analytics = new UsageAnalytics({
  sink: { add: async () => undefined, deleteBefore: async () => 0 },
  health: quietHealth,
  flushIntervalMs: 5000,
  retention: { minuteRetentionHours: 48, hourRetentionDays: 90, dayRetentionDays: 800 },
  maxCells: 1e7,
  clock: Date.now,
});
const manyKeys = Array.from({ length: 10_000 }, (_, k) => ({ ...record, keyId: `key_${String(k).padStart(28, '0')}`, appId: `app_${k % 100}` }));
const cells: UsageCell[] = manyKeys.slice(0, 500).map((r) => ({
  minute: 0,
  apiId: r.apiId,
  route: r.route,
  keyId: r.keyId,
  appId: r.appId,
  statusClass: '2xx',
  denialCode: null,
  requests: 3,
  bytesIn: 0,
  bytesOut: 300,
  durationUs: 4000,
  latency: [0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
}));
let k = 0;
let c = 0;

const cases: [string, () => unknown][] = [
  ['hashKey (HMAC-SHA-256 under the pepper)', () => hashKey(seeded.secret, pepper)],
  ["periodWindow('day', now)", () => periodWindow('day', Date.now())],
  ['KeyVerifier.verify (cache hit, limiter, usage)', () => ctx.verifier.verify(seeded.secret, facts)],
  ['pipeline before forward (route … verify-key)', beforeForward],
  ['pipeline before forward, tracing on, every request sampled', tracedBeforeForward(sampled)],
  ['pipeline before forward, tracing on, every request sampled out', tracedBeforeForward(sampledOut)],
  // A flush every 250 records (requestLog.flushRecords' default): rows held until the end would be
  // copied by every scavenge and promoted, and the garbage collector's work would be most of the figure.
  [
    'request log, on the request path: requestRecord + RequestLog.observe (a flush every 250)',
    () => (requestLog.observe(requestRecord(routed)), ++logged % 250 === 0 ? requestLog.flush() : undefined),
  ],
  ['request log, at flush: requestLogEntry per record', () => requestLogEntry(record, 'names')],
  ['request log, at flush: a batch of 1,000 entries cloned for the writer thread, per record', () => i++ % 1000 === 0 && channel.port1.postMessage(partBatch)],
  ['usage analytics, on the request path: UsageAnalytics.observe, one key', () => analytics.observe(record)],
  ['usage analytics, on the request path: UsageAnalytics.observe, 10,000 keys in turn', () => analytics.observe(manyKeys[k++ % 10_000]!)],
  ['usage analytics, at flush: a part of 500 cells cloned for the writer thread, per cell', () => c++ % 500 === 0 && channel.port1.postMessage(cells)],
];
// --stages: the pipeline cut after each stage in turn, so the differences between lines are each stage's cost.
if (values.stages)
  for (let n = 1; n <= stages.length; n++)
    cases.push([
      `pipeline to ${pipeline[n - 1]![0]} (${n} of ${stages.length} stages)`,
      () => runStages(stages.slice(0, n), newExchange(req, res, Date.now())),
    ]);
const metrics = seeded.gh.metrics;
if (metrics) {
  cases.push(['metrics: one forwarded request observed (duration histogram, outcome counter, upstream histogram)', () => metrics.requests(record)]);
  cases.push(["for comparison: prom-client's own Histogram.observe on a labels() child (4 labels)", () => promChild.observe(0.00042)]);
}

/** A case that returns a promise (always, or now and then) is awaited each time it does. */
// Each case starts from a collected heap: the garbage of the cases before it (the traced ones queue
// spans) otherwise lands in its figure (the request log's read 2.0 µs after them, 0.6 alone).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

async function measure(fn: () => unknown): Promise<number> {
  collectGarbage();
  const run = async (): Promise<void> => {
    for (let i = 0; i < N; i++) {
      const result = fn();
      if (result instanceof Promise) await result;
    }
  };
  await run(); // warm-up
  const c0 = process.cpuUsage();
  await run();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / N;
}

console.log(`Metrics ${metrics ? 'on' : 'off (--no-metrics)'}.\n`);
console.log(`| per call, ${N} calls after as many warm-up calls | CPU µs |`);
console.log('| --- | ---: |');
for (const [name, fn] of cases) console.log(`| ${name} | ${(await measure(fn)).toFixed(2)} |`);
const verification = await ctx.verifier.verify(seeded.secret, facts);
if (!verification.valid) throw new Error(`the key did not verify: ${verification.code}`);
await Promise.all([sampled.tracing.shutdown(), sampledOut.tracing.shutdown()]);
collector.closeAllConnections();
collector.close();
await requestLog.flush();
await analytics.flush();
channel.port1.close();
await upstreams.close();
await seeded.close();
