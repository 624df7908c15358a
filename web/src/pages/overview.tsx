// The operators' overview: requests, errors, denials by reason, latency and the top apps, keys and
// APIs over a chosen range, all from GET /admin/v1/usage (latency percentiles from its histogram).
import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, query, type Page } from '../api.ts';
import { LineChart } from '../chart.tsx';
import type { Api, App, UsageReport } from '../types.ts';
import { Empty, ErrorMessage, Loading, SelectField, timeZone } from '../ui.tsx';

const RANGES = {
  '1h': { label: 'Last hour', granularity: 'minute', stepSeconds: 60 },
  '24h': { label: 'Last 24 hours', granularity: 'hour', stepSeconds: 3600 },
  '7d': { label: 'Last 7 days', granularity: 'day', stepSeconds: 86400 },
  '30d': { label: 'Last 30 days', granularity: 'day', stepSeconds: 86400 },
} as const;
type Range = keyof typeof RANGES;

const usage = (range: Range, groupBy?: string) =>
  api<UsageReport>('GET', `/admin/v1/usage${query({ from: range, granularity: RANGES[range].granularity, groupBy })}`);

/** The buckets of a report, every one (the API lists only buckets with requests). */
function buckets(report: UsageReport, stepSeconds: number): number[] {
  const out: number[] = [];
  const from = Date.parse(report.from) / 1000;
  const until = Date.parse(report.until) / 1000;
  for (let t = from; t < until && out.length < 2000; t += stepSeconds) out.push(t);
  return out;
}

type Point = UsageReport['series'][number]['points'][number];

/** One value per bucket; `missing` for a bucket without requests (0 requests, but no latency: a gap). */
function valuesOn<T extends number | null>(x: number[], points: Point[], value: (p: Point) => T, missing: T): T[] {
  const byTime = new Map(points.map((p) => [Math.floor(Date.parse(p.at) / 1000), value(p)]));
  return x.map((t) => byTime.get(t) ?? missing);
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${v.toFixed(1)} ms`);

function TopList({ title, report, names, href }: { title: string; report: UsageReport | undefined; names: Map<string, string>; href: (id: string) => string }) {
  const dim = report?.groupBy[0] as 'app' | 'key' | 'api' | undefined;
  const rows = (report?.series ?? [])
    .filter((s) => dim && s.group[dim])
    .sort((a, b) => b.totals.requests - a.totals.requests)
    .slice(0, 5);
  return (
    <section className="card" aria-labelledby={`top-${title}`}>
      <h2 id={`top-${title}`}>{title}</h2>
      {!report ? (
        <Loading what={title.toLowerCase()} />
      ) : rows.length === 0 ? (
        <Empty>No requests in this range.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Requests
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => {
              const id = dim ? (s.group[dim] ?? '') : '';
              return (
                <tr key={id}>
                  <td>
                    <Link href={href(id)}>{names.get(id) ?? id}</Link>
                  </td>
                  <td className="num">{s.totals.requests}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Overview() {
  const [range, setRange] = useState<Range>('24h');
  const step = RANGES[range].stepSeconds;
  const total = useQuery({ queryKey: ['usage', range], queryFn: () => usage(range) });
  const byStatus = useQuery({ queryKey: ['usage', range, 'statusClass'], queryFn: () => usage(range, 'statusClass') });
  const byDenial = useQuery({ queryKey: ['usage', range, 'denialCode'], queryFn: () => usage(range, 'denialCode') });
  const byApp = useQuery({ queryKey: ['usage', range, 'app'], queryFn: () => usage(range, 'app') });
  const byKey = useQuery({ queryKey: ['usage', range, 'key'], queryFn: () => usage(range, 'key') });
  const byApi = useQuery({ queryKey: ['usage', range, 'api'], queryFn: () => usage(range, 'api') });
  const apps = useQuery({ queryKey: ['apps', 'names'], queryFn: () => api<Page<App>>('GET', '/admin/v1/apps?limit=100') });
  const apis = useQuery({ queryKey: ['apis', 'names'], queryFn: () => api<Page<Api>>('GET', '/admin/v1/apis?limit=100') });
  const appNames = useMemo(() => new Map((apps.data?.items ?? []).map((a) => [a.id, a.name])), [apps.data]);
  const apiNames = useMemo(() => new Map((apis.data?.items ?? []).map((a) => [a.id, a.name])), [apis.data]);

  const requestsChart = useMemo(() => {
    if (!total.data) return null;
    const x = buckets(total.data, step);
    const all = total.data.series[0]?.points ?? [];
    return { x, series: [{ label: 'Requests', values: valuesOn(x, all, (p) => p.requests, 0), color: '#1d4ed8' }] };
  }, [total.data, step]);

  // Per bucket, from the same report: every request's latency bucket is counted, so no sampling.
  const latencyChart = useMemo(() => {
    if (!total.data) return null;
    const x = buckets(total.data, step);
    const all = total.data.series[0]?.points ?? [];
    return {
      x,
      series: [
        { label: 'p50', values: valuesOn(x, all, (p) => p.p50Ms, null), color: '#1d4ed8' },
        { label: 'p99', values: valuesOn(x, all, (p) => p.p99Ms, null), color: '#b45309' },
      ],
    };
  }, [total.data, step]);

  const errorsChart = useMemo(() => {
    if (!byStatus.data) return null;
    const x = buckets(byStatus.data, step);
    const colors: Record<string, string> = { '2xx': '#15803d', '3xx': '#6b7280', '4xx': '#b45309', '5xx': '#b91c1c' };
    const series = byStatus.data.series
      .filter((s) => s.group.statusClass)
      .map((s) => ({
        label: s.group.statusClass ?? '',
        values: valuesOn(x, s.points, (p) => p.requests, 0),
        color: colors[s.group.statusClass ?? ''] ?? '#334155',
      }));
    return { x, series };
  }, [byStatus.data, step]);

  const errors = (byStatus.data?.series ?? [])
    .filter((s) => s.group.statusClass === '4xx' || s.group.statusClass === '5xx')
    .reduce((a, s) => a + s.totals.requests, 0);
  const denials = (byDenial.data?.series ?? []).filter((s) => s.group.denialCode).sort((a, b) => b.totals.requests - a.totals.requests);
  const firstError = [total, byStatus, byDenial, byApp, byKey, byApi].find((q) => q.isError)?.error;

  return (
    <>
      <h1>Overview</h1>
      <div className="toolbar">
        <SelectField
          label="Range"
          name="range"
          value={range}
          onChange={(v) => setRange(v as Range)}
          options={Object.entries(RANGES).map(([value, r]) => ({ value, label: r.label }))}
        />
        <p className="muted">Times in {timeZone()}.</p>
      </div>
      <ErrorMessage error={firstError} />
      <section className="stats" aria-label="Totals">
        <div className="stat">
          <span className="stat-label">Requests</span>
          <span className="stat-value" data-testid="total-requests">
            {total.data?.totals.requests ?? '…'}
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">Errors (4xx and 5xx)</span>
          <span className="stat-value">{byStatus.data ? errors : '…'}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Denied</span>
          <span className="stat-value">{byDenial.data ? denials.reduce((a, s) => a + s.totals.requests, 0) : '…'}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Latency p50 / p99</span>
          <span className="stat-value" data-testid="latency">
            {total.data ? (total.data.totals.p50Ms === null ? '–' : `${ms(total.data.totals.p50Ms)} / ${ms(total.data.totals.p99Ms)}`) : '…'}
          </span>
          <span className="muted small">every request in the range, to its latency bucket</span>
        </div>
      </section>
      <div className="charts">
        {requestsChart ? <LineChart title="Requests" x={requestsChart.x} series={requestsChart.series} /> : <Loading what="requests" />}
        {errorsChart ? (
          errorsChart.series.length ? (
            <LineChart title="Answers by status class" x={errorsChart.x} series={errorsChart.series} />
          ) : (
            <Empty>No answers in this range.</Empty>
          )
        ) : (
          <Loading what="status classes" />
        )}
        {latencyChart ? (
          <LineChart
            title="Latency p50 / p99"
            x={latencyChart.x}
            series={latencyChart.series}
            unit=" ms"
            summary={`whole range: p50 ${ms(total.data?.totals.p50Ms)}, p99 ${ms(total.data?.totals.p99Ms)}`}
          />
        ) : (
          <Loading what="latency" />
        )}
      </div>
      <div className="grid">
        <section className="card" aria-labelledby="denials">
          <h2 id="denials">Denials by reason</h2>
          {!byDenial.data ? (
            <Loading what="denials" />
          ) : denials.length === 0 ? (
            <Empty>No denials in this range.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Reason</th>
                  <th scope="col" className="num">
                    Requests
                  </th>
                </tr>
              </thead>
              <tbody>
                {denials.map((s) => (
                  <tr key={s.group.denialCode ?? ''}>
                    <td>
                      <Link href={`/console/requests?code=${encodeURIComponent(s.group.denialCode ?? '')}`}>{s.group.denialCode}</Link>
                    </td>
                    <td className="num">{s.totals.requests}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <TopList title="Top apps" report={byApp.data} names={appNames} href={(id) => `/console/apps/${id}`} />
        <TopList title="Top keys" report={byKey.data} names={new Map()} href={(id) => `/console/keys/${id}`} />
        <TopList title="Top APIs" report={byApi.data} names={apiNames} href={(id) => `/console/apis/${id}`} />
      </div>
    </>
  );
}
