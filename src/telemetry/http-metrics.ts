import type { Registry } from 'prom-client';
import type { RequestObserver, RequestRecord } from '../gateway/observer.ts';
import { CellCounter, CellHistogram, type CounterCell, type HistogramCell } from './metric-cells.ts';

/**
 * Bucket bounds (seconds) for request and upstream durations: OpenTelemetry's advice for
 * http.server.request.duration (5 ms to 10 s), with 0.5, 1 and 2.5 ms in front, because the gateway
 * answers refusals, and loopback upstreams, well under 5 ms.
 */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** RFC 9110 methods and PATCH; any other is `_OTHER`, as OpenTelemetry's http.request.method says. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** Denials that are a limit at work, by the limit's kind. */
const LIMIT_KINDS: ReadonlyMap<string, string> = new Map([
  ['RATE_LIMITED', 'rate'],
  ['QUOTA_EXCEEDED', 'quota'],
  ['AUTH_RATE_LIMITED', 'failed_auth'],
]);
/** Why a forwarded request got no answer from the upstream, as the error_type label says it. */
const UPSTREAM_ERRORS: ReadonlyMap<string, string> = new Map([
  ['UPSTREAM_TIMEOUT', 'timeout'],
  ['UPSTREAM_UNAVAILABLE', 'unavailable'],
  ['BODY_TOO_LARGE', 'body_too_large'],
]);

type Tree<V> = Map<string, V>;

/**
 * The gateway's request metrics, as one RequestObserver. A request finds its series through nested
 * Maps keyed by values the record already holds (API name, route template, method, status number),
 * so it builds no string and allocates nothing once its series exist. Series are never dropped: a
 * renamed or deleted API's stay until restart.
 *
 * `perKeyLabels` adds `app_id` and `key_id` to the outcome and limit counters (never to histograms):
 * one series per key and outcome, which is why it is off by default.
 */
export function httpMetrics(registry: Registry, perKeyLabels: boolean): RequestObserver {
  const registers = [registry];
  const duration = new CellHistogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of gateway requests, from arrival to the end of the answer (OpenTelemetry http.server.request.duration).',
    labelNames: ['api', 'http_route', 'http_request_method', 'http_response_status_code'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const keyLabels = perKeyLabels ? (['app_id', 'key_id'] as const) : ([] as const);
  const outcomes = new CellCounter({
    name: 'gatehouse_gateway_requests_total',
    help: 'Gateway requests by how they ended: FORWARDED, PREFLIGHT (answered by the gateway), or the denial code.',
    labelNames: ['api', 'outcome', ...keyLabels],
    registers,
  });
  const refusals = new CellCounter({
    name: 'gatehouse_gateway_limit_refusals_total',
    help: 'Requests refused by a limit: rate (RATE_LIMITED), quota (QUOTA_EXCEEDED), failed_auth (AUTH_RATE_LIMITED).',
    labelNames: ['api', 'limit', ...keyLabels],
    registers,
  });
  const upstreamDuration = new CellHistogram({
    name: 'gatehouse_upstream_request_duration_seconds',
    help: "Upstream latency: from sending a request upstream to its answer's head, or to the failure.",
    labelNames: ['api', 'http_response_status_code', 'error_type'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const upstreamErrors = new CellCounter({
    name: 'gatehouse_upstream_errors_total',
    help: 'Forwarded requests that got no answer from the upstream: timeout (504), unavailable (502), body_too_large (a chunked body over the limit).',
    labelNames: ['api', 'error_type'] as const,
    registers,
  });

  // api -> route -> method -> status -> series
  const durations: Tree<Tree<Tree<Map<number, HistogramCell>>>> = new Map();
  // api -> outcome (-> app -> key) -> series
  const outcomeCells: Tree<Tree<CounterCell | Tree<Tree<CounterCell>>>> = new Map();
  const refusalCells: Tree<Tree<CounterCell | Tree<Tree<CounterCell>>>> = new Map();
  // api -> status (0 on errors) -> error type -> series
  const upstreamCells: Tree<Map<number, Tree<HistogramCell>>> = new Map();
  const errorCells: Tree<Tree<CounterCell>> = new Map();

  const inner = <M extends Map<unknown, unknown>>(map: Map<string, M>, key: string): M => {
    let found = map.get(key);
    if (found === undefined) map.set(key, (found = new Map() as M));
    return found;
  };

  const durationCell = (api: string, route: string, method: string, status: number): HistogramCell => {
    const byStatus = inner(inner(inner(durations, api), route), method);
    let cell = byStatus.get(status);
    if (cell === undefined) {
      cell = duration.cell({ api, http_route: route, http_request_method: method, http_response_status_code: status === 0 ? '' : String(status) });
      byStatus.set(status, cell);
    }
    return cell;
  };

  /** An outcome or limit counter's series, with the key and app when per-key labels are on. */
  const countCell = (
    counter: CellCounter<string>,
    tree: Tree<Tree<CounterCell | Tree<Tree<CounterCell>>>>,
    label: string,
    api: string,
    value: string,
    record: RequestRecord,
  ): CounterCell => {
    const byValue = inner(tree, api);
    let found = byValue.get(value);
    if (!perKeyLabels) {
      if (found === undefined) byValue.set(value, (found = counter.cell({ api, [label]: value })));
      return found as CounterCell;
    }
    if (found === undefined) byValue.set(value, (found = new Map()));
    const app = record.appId ?? '';
    const key = record.keyId ?? '';
    const byKey = inner(found as Tree<Tree<CounterCell>>, app);
    let cell = byKey.get(key);
    if (cell === undefined) byKey.set(key, (cell = counter.cell({ api, [label]: value, app_id: app, key_id: key })));
    return cell;
  };

  const upstreamCell = (api: string, status: number, errorType: string): HistogramCell => {
    let byStatus = upstreamCells.get(api);
    if (byStatus === undefined) upstreamCells.set(api, (byStatus = new Map()));
    let byError = byStatus.get(status);
    if (byError === undefined) byStatus.set(status, (byError = new Map()));
    let cell = byError.get(errorType);
    if (cell === undefined) {
      cell = upstreamDuration.cell({ api, http_response_status_code: status === 0 ? '' : String(status), error_type: errorType });
      byError.set(errorType, cell);
    }
    return cell;
  };

  return (record) => {
    const api = record.api ?? '';
    const method = KNOWN_METHODS.has(record.method) ? record.method : '_OTHER';
    durationCell(api, record.route ?? '', method, record.status).observe(record.durationMs / 1000);
    const outcome = record.outcome ?? 'UNKNOWN';
    countCell(outcomes, outcomeCells, 'outcome', api, outcome, record).value += 1;
    const limit = LIMIT_KINDS.get(outcome);
    if (limit !== undefined) countCell(refusals, refusalCells, 'limit', api, limit, record).value += 1;
    if (record.upstreamMs === null) return;
    const errorType = record.denialCode === null ? '' : (UPSTREAM_ERRORS.get(record.denialCode) ?? 'other');
    // On an upstream failure the status is the gateway's own (502, 504), not the upstream's: none.
    upstreamCell(api, errorType === '' ? record.status : 0, errorType).observe(record.upstreamMs / 1000);
    if (errorType !== '') {
      const byType = inner(errorCells, api);
      let cell = byType.get(errorType);
      if (cell === undefined) byType.set(errorType, (cell = upstreamErrors.cell({ api, error_type: errorType })));
      cell.value += 1;
    }
  };
}
