// The request log explorer: GET /admin/v1/requests with its filters, newest first, by cursor.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, useSearch } from 'wouter';
import { api, query, type Page } from '../api.ts';
import type { RequestRecord } from '../types.ts';
import { Empty, ErrorMessage, Loading, Pager, SelectField, TextField, Time, timeZone, useCursor } from '../ui.tsx';

const FILTERS = ['since', 'keyId', 'appId', 'api', 'status', 'code', 'address', 'user', 'clientId'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

export function RequestLog() {
  const search = new URLSearchParams(useSearch());
  const [filters, setFilters] = useState<Filters>(() => Object.fromEntries(FILTERS.map((f) => [f, search.get(f) ?? (f === 'since' ? '24h' : '')])) as Filters);
  const set = (k: keyof Filters) => (v: string) => setFilters((f) => ({ ...f, [k]: v.trim() }));
  const pages = useCursor(JSON.stringify(filters));
  const list = useQuery({
    queryKey: ['requests', filters, pages.cursor],
    queryFn: () => api<Page<RequestRecord>>('GET', `/admin/v1/requests${query({ ...filters, limit: 50, cursor: pages.cursor })}`),
  });
  return (
    <>
      <h1>Request log</h1>
      <form className="filters" aria-label="Filter requests" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          label="Since"
          name="since"
          value={filters.since}
          onChange={set('since')}
          options={[
            { value: '15m', label: '15 minutes' },
            { value: '1h', label: '1 hour' },
            { value: '24h', label: '24 hours' },
            { value: '7d', label: '7 days' },
            { value: '30d', label: '30 days' },
          ]}
        />
        <TextField label="Status" name="status" value={filters.status} onChange={set('status')} placeholder="200, 4xx" />
        <TextField label="Denial code" name="code" value={filters.code} onChange={set('code')} placeholder="KEY_REVOKED" />
        <TextField label="API (name or id)" name="api" value={filters.api} onChange={set('api')} />
        <TextField label="Key id" name="keyId" value={filters.keyId} onChange={set('keyId')} placeholder="key_…" />
        <TextField label="App id" name="appId" value={filters.appId} onChange={set('appId')} placeholder="app_…" />
        <TextField label="Client address" name="address" value={filters.address} onChange={set('address')} />
        <TextField label="User" name="user" value={filters.user} onChange={set('user')} />
      </form>
      <p className="muted">Newest first. Times in {timeZone()}.</p>
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <Loading what="requests" />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty>No requests match these filters.</Empty>
      ) : (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Request</th>
                <th scope="col">Status</th>
                <th scope="col">Denial</th>
                <th scope="col" className="num">
                  ms
                </th>
                <th scope="col">Key</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {list.data?.items.map((r) => (
                <tr key={r.requestId}>
                  <td>
                    <Time at={r.at} />
                  </td>
                  <td className="wrap">
                    <code>
                      {r.method} {r.path}
                    </code>
                  </td>
                  <td>{r.status}</td>
                  <td>{r.denialCode ?? ''}</td>
                  <td className="num">{r.durationMs.toFixed(1)}</td>
                  <td>{r.keyId ? <Link href={`/console/keys/${r.keyId}`}>{r.keyId.slice(0, 12)}…</Link> : ''}</td>
                  <td>{r.address}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager page={pages.page} nextCursor={list.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}
