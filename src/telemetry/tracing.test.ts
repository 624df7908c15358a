import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { diag } from '@opentelemetry/api';
import pino from 'pino';
import { capturedLog } from '../../test/support/captured-log.ts';
import { GatehouseMetrics } from './metrics.ts';
import { LoggedDiagnostics, traceLogFields, Tracing, type TracingSettings } from './tracing.ts';

const settings = (endpoint: string): TracingSettings => ({
  endpoint,
  headers: {},
  serviceName: 'unit',
  serviceVersion: '0.0.0',
  resourceAttributes: {},
  sampleRatio: 1,
  parentBased: true,
  trustIncomingTraceparentFrom: [],
  scheduledDelayMs: 10,
  maxQueueSize: 100,
  maxExportBatchSize: 10,
  exportTimeoutMs: 2000,
  compression: 'none',
});

/** A collector answering every export with `status` (400: refused, not worth a retry). */
async function collector(status: number) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

test('log lines written while a span is current carry its trace_id and span_id, after an await too; others carry none', async () => {
  const accepting = await collector(200);
  const tracing = new Tracing(settings(accepting.url), { ok() {}, failed() {} });
  const lines: Record<string, unknown>[] = [];
  const log = pino({ mixin: traceLogFields }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString())), done()) }));
  const span = tracing.tracer.startSpan('unit');
  log.info('before');
  await tracing.run(span, async () => {
    log.info('inside');
    await new Promise((r) => setTimeout(r, 5));
    log.info('after an await');
  });
  log.info('outside');
  span.end();
  const { traceId, spanId } = span.spanContext();
  assert.deepEqual(
    lines.map((l) => [l.msg, l.trace_id, l.span_id, l.trace_flags]),
    [
      ['before', undefined, undefined, undefined],
      ['inside', traceId, spanId, '01'],
      ['after an await', traceId, spanId, '01'],
      ['outside', undefined, undefined, undefined],
    ],
  );
  await tracing.shutdown();
  await accepting.close();
});

test('an export the collector refuses is reported, never silent', async () => {
  const refusing = await collector(400);
  const failures: unknown[] = [];
  let successes = 0;
  const tracing = new Tracing(settings(refusing.url), { ok: () => successes++, failed: (error) => failures.push(error) });
  tracing.tracer.startSpan('refused').end();
  // The last flush fails as well: the graceful stop logs it (gatehouse.ts).
  await assert.rejects(tracing.shutdown(), /Bad Request/);
  assert.equal(successes, 0);
  assert.equal(failures.length, 1);
  assert.ok(failures[0] instanceof Error);
  await refusing.close();
});

/** A collector that takes each export and never answers it (until closed): the queue behind it fills. */
async function stalledCollector() {
  const server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

test('spans dropped by a full export queue are counted (gatehouse_records_lost_total, log="spans") and the SDK\'s warning reaches our log', async () => {
  const stalled = await stalledCollector();
  const { logger, lines } = capturedLog('info');
  const tracing = new Tracing(
    { ...settings(stalled.url), maxQueueSize: 2, maxExportBatchSize: 1, scheduledDelayMs: 5, exportTimeoutMs: 1000 },
    { ok() {}, failed() {} },
    logger,
  );
  const metrics = new GatehouseMetrics({ perKeyLabels: false });
  metrics.countLosses({ requestLog: null, analytics: null, usage: null, spans: tracing });
  try {
    for (let i = 0; i < 20; i++) tracing.tracer.startSpan(`s${i}`).end();
    // Two fit in the queue, one more once the first export (a batch of one) took one out: the rest are dropped.
    const dropped = tracing.dropped();
    assert.ok(dropped >= 17 && dropped <= 18, String(dropped));
    assert.match(await metrics.registry.metrics(), new RegExp(`^gatehouse_records_lost_total\\{log="spans",reason="buffer_full"\\} ${dropped}$`, 'm'));
    // Once the stalled export times out and the next takes a span out of the queue, a span fits again,
    // and the SDK says how many it dropped: as a diag warning, which our log now gets.
    const dropWarning = () => lines.find((l) => typeof l.msg === 'string' && /Dropped \d+ spans because maxQueueSize reached/.test(l.msg));
    for (const deadline = Date.now() + 5000; !dropWarning() && Date.now() < deadline;) {
      tracing.tracer.startSpan('later').end();
      await new Promise((r) => setTimeout(r, 50));
    }
    const warned = dropWarning();
    assert.ok(warned, JSON.stringify(lines));
    assert.equal(Number(/Dropped (\d+)/.exec(String(warned.msg))![1]), tracing.dropped(), 'the SDK dropped what we counted');
    assert.equal(warned.level, 40);
    assert.equal(warned.component, 'opentelemetry');
  } finally {
    await stalled.close();
    // Its last export goes to the stalled receiver, closed now: the shutdown's rejection says only that.
    await tracing.shutdown().catch(() => {});
  }
});

test("OpenTelemetry's diagnostics reach our log without the collector's header values or our secrets", async () => {
  const accepting = await collector(200);
  const { logger, lines } = capturedLog('info');
  const tracing = new Tracing({ ...settings(accepting.url), headers: { authorization: 'Bearer collector-token-123' } }, { ok() {}, failed() {} }, logger);
  try {
    diag.error('export failed with headers {"authorization":"Bearer collector-token-123"} for gk_live_abcdefghijklmnopqrstuvwxyz0123');
    diag.debug('not at warn: left out');
    const logged = lines.filter((l) => l.component === 'opentelemetry');
    assert.equal(logged.length, 1, JSON.stringify(lines));
    assert.equal(logged[0]!.level, 50);
    const text = JSON.stringify(logged);
    assert.doesNotMatch(text, /collector-token-123|gk_live_abc/);
    assert.match(text, /export failed with headers/);
  } finally {
    await tracing.shutdown();
    await accepting.close();
  }
});

test("the collector URL's user and password stay out of OpenTelemetry's diagnostics, also when one is not validly percent-encoded", async () => {
  const accepting = await collector(200);
  const { logger, lines } = capturedLog('info');
  // `%of` is no escape: the URL keeps it as written, and decoding it throws.
  const endpoint = accepting.url.replace('http://', 'http://trace-user-77:s3cret%off-99@');
  const tracing = new Tracing(settings(endpoint), { ok() {}, failed() {} }, logger);
  try {
    diag.warn(`export to ${endpoint} failed`);
    const text = JSON.stringify(lines.filter((l) => l.component === 'opentelemetry'));
    assert.match(text, /export to/);
    assert.doesNotMatch(text, /trace-user-77|s3cret/);
  } finally {
    await tracing.shutdown();
    await accepting.close();
  }
});

test('a diagnostic repeated word for word is logged once a minute, with how many times it came meanwhile', () => {
  const { logger, lines } = capturedLog('info');
  let now = 0;
  const diagnostics = new LoggedDiagnostics(logger, [], () => now);
  const logged = () => lines.splice(0).map((l) => [l.level, l.msg, l.repeated]);
  diagnostics.error('export failed');
  for (now = 5_000; now <= 55_000; now += 5_000) diagnostics.error('export failed');
  now = 55_000;
  diagnostics.warn('export failed');
  diagnostics.error('another failure');
  assert.deepEqual(logged(), [
    [50, 'export failed', undefined],
    [40, 'export failed', undefined],
    [50, 'another failure', undefined],
  ]);
  now = 60_000;
  diagnostics.error('export failed');
  assert.deepEqual(logged(), [[50, 'export failed', 11]], 'the next one after the minute says how many came meanwhile');
  // A line that stops coming still tells its repeats, once its minute is over and another line comes.
  now = 200_000;
  diagnostics.error('collector gone');
  diagnostics.error('collector gone');
  now = 270_000;
  diagnostics.warn('queue full');
  assert.deepEqual(logged(), [
    [50, 'collector gone', undefined],
    [50, 'collector gone', 1],
    [40, 'queue full', undefined],
  ]);
});
