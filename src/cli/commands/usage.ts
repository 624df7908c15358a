import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { AdminClient } from '../admin-client.ts';
import { asksForHelp, HelpRequest, table, UsageError, type Output } from '../output.ts';
import { resolveId } from '../resolve.ts';
import { query } from './resources.ts';

const USAGE = `usage: gatehouse usage [--since 24h|RFC3339] [--until T] [--granularity minute|hour|day] [--by key,app,api,route,status,code]
                      [--key ID|none] [--app ID|NAME|none] [--api ID|NAME|none] [--route /T|none] [--status 2xx|0] [--code CODE|none] [--json]
  request counts: totals, and a series per group (GET /admin/v1/usage, usage:read)
       gatehouse usage billing [--period month|day] [--since T] [--until T] [--app ID|NAME] [--api ID|NAME] [--format json|csv] [--json]
  usage per app, API and calendar period, with stable ids (GET /admin/v1/usage/billing); --format csv writes CSV to stdout`;

/** Short names for --by, beside the API's own. */
const DIMENSION_ALIASES: Readonly<Record<string, string>> = {
  key: 'key',
  app: 'app',
  api: 'api',
  route: 'route',
  status: 'statusClass',
  statusClass: 'statusClass',
  code: 'denialCode',
  denialCode: 'denialCode',
};

function parse(argv: string[], options: ParseArgsOptionsConfig) {
  if (asksForHelp(argv)) throw new HelpRequest(USAGE);
  try {
    return parseArgs({ args: argv, options, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

/** `gatehouse usage`: what was called, by whom, how it was answered, per minute, hour or day. */
export async function runUsage(argv: string[], client: AdminClient, out: Output): Promise<void> {
  if (argv[0] === 'billing') return runBilling(argv.slice(1), client, out);
  const f = parse(argv, {
    since: { type: 'string' },
    until: { type: 'string' },
    granularity: { type: 'string' },
    by: { type: 'string' },
    key: { type: 'string' },
    app: { type: 'string' },
    api: { type: 'string' },
    route: { type: 'string' },
    status: { type: 'string' },
    code: { type: 'string' },
    json: { type: 'boolean' },
  });
  const by = typeof f.by === 'string' ? f.by.split(',').map((d) => d.trim()) : [];
  const unknown = by.filter((d) => !Object.hasOwn(DIMENSION_ALIASES, d));
  if (unknown.length) throw new UsageError(`--by takes key, app, api, route, status, code (not ${unknown.join(', ')})\n${USAGE}`);
  const app = typeof f.app === 'string' && f.app !== 'none' ? await resolveId(client, 'app', f.app) : f.app;
  const report = await client.request(
    'GET',
    `/usage${query({
      from: f.since,
      until: f.until,
      granularity: f.granularity,
      groupBy: by.length ? by.map((d) => DIMENSION_ALIASES[d]).join(',') : undefined,
      keyId: f.key,
      appId: app,
      api: f.api,
      route: f.route,
      statusClass: f.status,
      denialCode: f.code,
    })}`,
  );
  out.result(report, () => usageText(report));
}

interface Counts {
  requests: number;
  bytesIn: number;
  bytesOut: number;
  averageDurationMs: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

function usageText(report: {
  from: string;
  until: string;
  granularity: string;
  groupBy: string[];
  totals: Counts;
  series: { group: Record<string, string | null>; totals: Counts; points: ({ at: string } & Counts)[] }[];
}): string {
  const t = report.totals;
  const ms = (v: number | null) => (v === null ? null : v.toFixed(2));
  const lines = [
    `${report.from} .. ${report.until} (per ${report.granularity})`,
    `requests  ${t.requests}   bytes in  ${t.bytesIn}   bytes out  ${t.bytesOut}   average ms  ${ms(t.averageDurationMs) ?? '-'}   p50 / p99 ms  ${ms(t.p50Ms) ?? '-'} / ${ms(t.p99Ms) ?? '-'}`,
    '',
  ];
  if (report.groupBy.length === 0) {
    const points = report.series[0]?.points ?? [];
    lines.push(
      table(
        points.map((p) => ({ ...p, averageMs: ms(p.averageDurationMs), p50Ms: ms(p.p50Ms), p99Ms: ms(p.p99Ms) })),
        ['at', 'requests', 'bytesIn', 'bytesOut', 'averageMs', 'p50Ms', 'p99Ms'],
      ),
    );
    return lines.join('\n');
  }
  // One row per group: its totals, and its busiest bucket.
  const rows = report.series.map((s) => {
    const peak = s.points.reduce((a, b) => (b.requests > a.requests ? b : a), s.points[0]!);
    return {
      ...s.group,
      requests: s.totals.requests,
      bytesIn: s.totals.bytesIn,
      bytesOut: s.totals.bytesOut,
      averageMs: ms(s.totals.averageDurationMs),
      p99Ms: ms(s.totals.p99Ms),
      peak: `${peak.requests} at ${peak.at}`,
    };
  });
  lines.push(table(rows, [...report.groupBy, 'requests', 'bytesIn', 'bytesOut', 'averageMs', 'p99Ms', 'peak']));
  return lines.join('\n');
}

async function runBilling(argv: string[], client: AdminClient, out: Output): Promise<void> {
  const f = parse(argv, {
    period: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    app: { type: 'string' },
    api: { type: 'string' },
    format: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (f.format !== undefined && f.format !== 'json' && f.format !== 'csv') throw new UsageError(`--format is json or csv\n${USAGE}`);
  const app = typeof f.app === 'string' ? await resolveId(client, 'app', f.app) : undefined;
  const path = `/usage/billing${query({ period: f.period, from: f.since, until: f.until, appId: app, api: f.api })}`;
  if (f.format === 'csv') return client.download(path, 'text/csv', process.stdout);
  const exported = await client.request('GET', path);
  out.result(
    exported,
    () =>
      table(exported.items, ['label', 'appId', 'apiId', 'billableRequests', 'deniedRequests', 'serverErrors', 'final', 'id']) +
      `\n(periods in ${exported.timeZone})`,
  );
}
