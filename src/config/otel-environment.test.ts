import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from './load.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-otel-env-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const load = (env: Record<string, string>, yaml?: string) => {
  const file = yaml === undefined ? undefined : join(dir, 'gatehouse.yaml');
  if (file) writeFileSync(file, yaml!);
  return loadConfig({ file, env: { GATEHOUSE_DATA_DIR: dir, ...env }, secretsRequired: false });
};
const refused = (env: Record<string, string>): string => {
  try {
    load(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  return assert.fail('expected a ConfigError');
};

describe('tracing configuration: the tracing section and the standard OTEL_* variables', () => {
  test('off by default, pointed at a local collector, every trace kept, no caller trusted', () => {
    const { tracing, tracingHeaders } = load({});
    assert.equal(tracing.enabled, false);
    assert.equal(tracing.endpoint, 'http://localhost:4318/v1/traces');
    assert.equal(tracing.serviceName, 'gatehouse');
    assert.equal(tracing.sampleRatio, 1);
    assert.equal(tracing.parentBased, true);
    assert.deepEqual(tracing.trustIncomingTraceparentFrom, []);
    assert.deepEqual(tracingHeaders, {});
  });

  test('a collector endpoint alone does not turn tracing on; OTEL_TRACES_EXPORTER=otlp does, and OTEL_SDK_DISABLED=true wins over everything', () => {
    assert.equal(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing.enabled, false);
    assert.equal(load({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing.enabled, true);
    assert.equal(load({ OTEL_TRACES_EXPORTER: 'none' }, 'tracing:\n  enabled: true\n').tracing.enabled, false);
    assert.equal(load({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, 'tracing:\n  enabled: true\n').tracing.enabled, false);
    assert.equal(load({}, 'tracing:\n  enabled: true\n').tracing.enabled, true);
    assert.equal(load({ GATEHOUSE_TRACING_ENABLED: 'true' }).tracing.enabled, true);
    assert.equal(load({ GATEHOUSE_TRACING_ENABLED: 'false' }).tracing.enabled, false, 'the text "false" is false');
  });

  test('the endpoint: the traces URL as given, or the general one with /v1/traces added', () => {
    assert.equal(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing.endpoint, 'http://collector:4318/v1/traces');
    assert.equal(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/prefix' }).tracing.endpoint, 'https://otel.example.com/prefix/v1/traces');
    assert.equal(
      load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom' }).tracing.endpoint,
      'http://traces:9999/custom',
    );
    assert.match(refused({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' }), /tracing\.endpoint/);
  });

  test('service name and resource attributes: OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES, values percent-decoded', () => {
    const { tracing } = load({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes,deployment.environment.name=prod%20eu' });
    assert.equal(tracing.serviceName, 'from-attributes');
    assert.deepEqual(tracing.resourceAttributes, { 'deployment.environment.name': 'prod eu' });
    assert.equal(load({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=a', OTEL_SERVICE_NAME: 'b' }).tracing.serviceName, 'b');
    assert.match(refused({ OTEL_RESOURCE_ATTRIBUTES: 'novalue' }), /OTEL_RESOURCE_ATTRIBUTES/);
  });

  test('samplers: parentbased_traceidratio with its argument, the other standard ones, and nothing else', () => {
    assert.deepEqual(pick(load({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).tracing), {
      parentBased: true,
      sampleRatio: 0.25,
    });
    assert.deepEqual(pick(load({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }).tracing), { parentBased: false, sampleRatio: 0.5 });
    assert.deepEqual(pick(load({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' }).tracing), { parentBased: true, sampleRatio: 1 });
    assert.deepEqual(pick(load({ OTEL_TRACES_SAMPLER: 'always_off' }).tracing), { parentBased: false, sampleRatio: 0 });
    assert.deepEqual(pick(load({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }).tracing), { parentBased: true, sampleRatio: 1 });
    assert.match(refused({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }), /OTEL_TRACES_SAMPLER: one of/);
    assert.match(refused({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }), /OTEL_TRACES_SAMPLER_ARG/);
    assert.deepEqual(pick(load({}, 'tracing:\n  sampleRatio: 0.1\n  parentBased: false\n').tracing), { parentBased: false, sampleRatio: 0.1 });
  });

  test('what Gatehouse cannot honour stops the start: another exporter, gRPC or protobuf, a bad CIDR', () => {
    assert.match(refused({ OTEL_TRACES_EXPORTER: 'zipkin' }), /otlp only/);
    assert.match(refused({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), /http\/json/);
    assert.match(refused({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }), /http\/json/);
    assert.equal(load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).tracing.enabled, false);
    assert.throws(() => load({}, "tracing:\n  trustIncomingTraceparentFrom: ['10.0.0.0/33']\n"), /trustIncomingTraceparentFrom/);
  });

  test("the collector's headers come from OTEL_EXPORTER_OTLP_(TRACES_)HEADERS only, and never sit in the tracing section", () => {
    const config = load({
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20general,x-tenant=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20traces',
    });
    assert.deepEqual(config.tracingHeaders, { authorization: 'Bearer traces', 'x-tenant': 'a' });
    assert.ok(!JSON.stringify(config.tracing).includes('Bearer'));
    assert.throws(() => load({}, 'tracing:\n  headers:\n    authorization: x\n'), ConfigError, 'no headers in the file');
  });

  test('batching and export limits from OTEL_BSP_* and the exporter timeout', () => {
    const { tracing } = load({
      OTEL_BSP_SCHEDULE_DELAY: '250',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    assert.deepEqual(
      { d: tracing.scheduledDelayMs, q: tracing.maxQueueSize, b: tracing.maxExportBatchSize, t: tracing.exportTimeoutMs, c: tracing.compression },
      { d: 250, q: 100, b: 50, t: 3000, c: 'gzip' },
    );
    assert.match(refused({ OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50' }), /maxExportBatchSize/);
  });
});

function pick(t: { parentBased: boolean; sampleRatio: number }) {
  return { parentBased: t.parentBased, sampleRatio: t.sampleRatio };
}
