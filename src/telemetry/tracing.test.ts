import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { traceLogFields, Tracing, type TracingSettings } from './tracing.ts';

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
