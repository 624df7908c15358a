/**
 * The OpenTelemetry SDK's standard variables (opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 * and the OTLP exporter's), read onto the `tracing` section like GATEHOUSE_* variables: over the
 * file, checked by the same schema. Empty values count as unset, as the specification asks. A value
 * Gatehouse cannot honour (another exporter, gRPC, another sampler) stops the start rather than
 * being ignored.
 */
export interface OtelEnvironment {
  /** What the variables say about the `tracing` section (only the settings they name). */
  tracing: Record<string, unknown>;
  /** OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS: often a collector's credential, so never in the file. */
  headers: Record<string, string>;
}

export class OtelEnvironmentError extends Error {
  override readonly name = 'OtelEnvironmentError';
}

const SAMPLERS: Record<string, { parentBased: boolean; ratio: number | 'arg' }> = {
  always_on: { parentBased: false, ratio: 1 },
  always_off: { parentBased: false, ratio: 0 },
  traceidratio: { parentBased: false, ratio: 'arg' },
  parentbased_always_on: { parentBased: true, ratio: 1 },
  parentbased_always_off: { parentBased: true, ratio: 0 },
  parentbased_traceidratio: { parentBased: true, ratio: 'arg' },
};

export function readOtelEnvironment(env: NodeJS.ProcessEnv): OtelEnvironment {
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const tracing: Record<string, unknown> = {};

  const exporters = get('OTEL_TRACES_EXPORTER')
    ?.split(',')
    .map((e) => e.trim().toLowerCase());
  if (exporters) {
    const unsupported = exporters.filter((e) => e !== 'otlp' && e !== 'none');
    if (unsupported.length > 0)
      throw new OtelEnvironmentError(`OTEL_TRACES_EXPORTER: Gatehouse exports traces with otlp only (or none), not ${unsupported.join(', ')}`);
    tracing.enabled = exporters.includes('otlp');
  }
  // The SDK-wide switch wins over everything else (and over the file).
  if (get('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') tracing.enabled = false;

  const protocol = get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? get('OTEL_EXPORTER_OTLP_PROTOCOL');
  if (protocol !== undefined && protocol !== 'http/json') {
    throw new OtelEnvironmentError(
      `OTEL_EXPORTER_OTLP_PROTOCOL: Gatehouse sends OTLP over HTTP as JSON (http/json), not ${protocol}; an OpenTelemetry Collector's otlp receiver accepts it on its HTTP port (4318)`,
    );
  }
  const tracesEndpoint = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = get('OTEL_EXPORTER_OTLP_ENDPOINT');
  // The signal-specific URL is used as given; the general one is a base, to which the signal's path is added.
  if (tracesEndpoint !== undefined) tracing.endpoint = tracesEndpoint;
  else if (endpoint !== undefined) tracing.endpoint = `${endpoint.replace(/\/+$/, '')}/v1/traces`;

  const resource = get('OTEL_RESOURCE_ATTRIBUTES');
  if (resource !== undefined) {
    const attributes = keyValueList('OTEL_RESOURCE_ATTRIBUTES', resource);
    if (attributes['service.name'] !== undefined) tracing.serviceName = attributes['service.name'];
    delete attributes['service.name'];
    tracing.resourceAttributes = attributes;
  }
  const serviceName = get('OTEL_SERVICE_NAME');
  if (serviceName !== undefined) tracing.serviceName = serviceName;

  const samplerName = get('OTEL_TRACES_SAMPLER');
  if (samplerName !== undefined) {
    const sampler = SAMPLERS[samplerName.toLowerCase()];
    if (!sampler) throw new OtelEnvironmentError(`OTEL_TRACES_SAMPLER: one of ${Object.keys(SAMPLERS).join(', ')}, not ${samplerName}`);
    tracing.parentBased = sampler.parentBased;
    tracing.sampleRatio = sampler.ratio === 'arg' ? ratio(get('OTEL_TRACES_SAMPLER_ARG')) : sampler.ratio;
  }

  const timeout = get('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') ?? get('OTEL_EXPORTER_OTLP_TIMEOUT');
  if (timeout !== undefined) tracing.exportTimeoutMs = timeout;
  const compression = get('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION') ?? get('OTEL_EXPORTER_OTLP_COMPRESSION');
  if (compression !== undefined) tracing.compression = compression;
  const batch: [string, string][] = [
    ['OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMs'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'],
    ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize'],
  ];
  for (const [name, setting] of batch) {
    const value = get(name);
    if (value !== undefined) tracing[setting] = value;
  }

  const general = get('OTEL_EXPORTER_OTLP_HEADERS');
  const specific = get('OTEL_EXPORTER_OTLP_TRACES_HEADERS');
  const headers = {
    ...(general === undefined ? {} : keyValueList('OTEL_EXPORTER_OTLP_HEADERS', general)),
    ...(specific === undefined ? {} : keyValueList('OTEL_EXPORTER_OTLP_TRACES_HEADERS', specific)),
  };
  return { tracing, headers };
}

/** OTEL_TRACES_SAMPLER_ARG for the ratio samplers: a probability, 1 when unset. */
function ratio(arg: string | undefined): number {
  if (arg === undefined) return 1;
  const value = Number(arg);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new OtelEnvironmentError(`OTEL_TRACES_SAMPLER_ARG: a ratio between 0 and 1, not ${arg}`);
  return value;
}

/** The W3C Baggage-like `key=value,key=value` lists of OTEL_RESOURCE_ATTRIBUTES and the OTLP headers, values percent-decoded. */
function keyValueList(name: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const key = eq === -1 ? '' : item.slice(0, eq).trim();
    if (key === '') throw new OtelEnvironmentError(`${name}: each entry is key=value`);
    try {
      out[key] = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      // The value is not named: a header list can carry a credential.
      throw new OtelEnvironmentError(`${name}: the value of ${key} is not valid percent-encoding`);
    }
  }
  return out;
}
