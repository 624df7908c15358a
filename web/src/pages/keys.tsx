// Keys: filter (status, environment, exposed, rotation due, expiring soon), bulk revoke, and each key's page:
// usage, where it is used from, rotate with grace (and the old key's drain), revoke, disable,
// and the incident tools (mark compromised, impact report, download).
import { Fragment, useMemo, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, ApiError, query, type Page } from '../api.ts';
import { LineChart } from '../chart.tsx';
import { useCan } from '../session.tsx';
import type { Compromise, Key, KeyAddresses, KeyUsage, RotatedKey } from '../types.ts';
import { ConfirmButton, Empty, ErrorMessage, Loading, Pager, SecretOnce, SelectField, StatusBadge, TextField, Time, useCursor } from '../ui.tsx';

export function KeyTable({ keys, selected, onSelect }: { keys: Key[]; selected?: Set<string>; onSelect?: (id: string, on: boolean) => void }) {
  return (
    <table>
      <thead>
        <tr>
          {onSelect ? (
            <th scope="col">
              <span className="visually-hidden">Select</span>
            </th>
          ) : null}
          <th scope="col">Key</th>
          <th scope="col">Status</th>
          <th scope="col">Env</th>
          <th scope="col">Last used</th>
          <th scope="col">Expires</th>
        </tr>
      </thead>
      <tbody>
        {keys.map((k) => (
          <tr key={k.id}>
            {onSelect ? (
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select ${k.name || k.start}`}
                  checked={selected?.has(k.id) ?? false}
                  disabled={k.status === 'revoked'}
                  onChange={(e) => onSelect(k.id, e.target.checked)}
                />
              </td>
            ) : null}
            <td>
              <Link href={`/console/keys/${k.id}`}>{k.name || 'unnamed'}</Link> <code>{k.start}…</code>
              {k.exposedAt ? <span className="badge badge-exposed">exposed</span> : null}
              {k.rotationDue ? <span className="badge badge-due">rotation due</span> : null}
            </td>
            <td>
              <StatusBadge status={k.status} />
            </td>
            <td>{k.environment}</td>
            <td>
              <Time at={k.lastUsedAt} />
            </td>
            <td>{k.expiresAt ? <Time at={k.expiresAt} /> : <span className="muted">never</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function KeysList() {
  const client = useQueryClient();
  const canWrite = useCan('keys:write');
  const [filters, setFilters] = useState({ status: '', environment: '', exposed: '', rotationDue: '', expiring: '', appId: '' });
  const set = (k: keyof typeof filters) => (v: string) => setFilters((f) => ({ ...f, [k]: v }));
  const pages = useCursor(JSON.stringify(filters));
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState('');
  const list = useQuery({
    queryKey: ['keys', filters, pages.cursor],
    queryFn: () => {
      const { expiring, ...rest } = filters;
      // "Within N days" from the moment the list is read: the admin API takes the end as a time.
      const expiresBefore = expiring ? new Date(Date.now() + Number(expiring) * 86_400_000).toISOString() : undefined;
      return api<Page<Key>>('GET', `/admin/v1/keys${query({ ...rest, expiresBefore, limit: 25, cursor: pages.cursor })}`);
    },
  });
  const bulkRevoke = async () => {
    const failures: string[] = [];
    for (const id of selected) {
      try {
        await api<Key>('POST', `/admin/v1/keys/${id}/revoke`, { reason });
      } catch (error) {
        failures.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    setSelected(new Set());
    await client.invalidateQueries({ queryKey: ['keys'] });
    if (failures.length) throw new Error(`Some keys were not revoked. ${failures.join('; ')}`);
  };
  return (
    <>
      <h1>Keys</h1>
      <form className="filters" aria-label="Filter keys" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          label="Status"
          name="status"
          value={filters.status}
          onChange={set('status')}
          options={['', 'active', 'disabled', 'expired', 'revoked'].map((v) => ({ value: v, label: v || 'any' }))}
        />
        <SelectField
          label="Environment"
          name="environment"
          value={filters.environment}
          onChange={set('environment')}
          options={['', 'live', 'test'].map((v) => ({ value: v, label: v || 'any' }))}
        />
        <SelectField
          label="Exposed"
          name="exposed"
          value={filters.exposed}
          onChange={set('exposed')}
          options={[
            { value: '', label: 'any' },
            { value: 'true', label: 'exposed' },
            { value: 'false', label: 'not exposed' },
          ]}
        />
        <SelectField
          label="Rotation"
          name="rotationDue"
          value={filters.rotationDue}
          onChange={set('rotationDue')}
          options={[
            { value: '', label: 'any' },
            { value: 'true', label: 'rotation due' },
            { value: 'false', label: 'not due' },
          ]}
        />
        <SelectField
          label="Expiring"
          name="expiring"
          value={filters.expiring}
          onChange={set('expiring')}
          options={[
            { value: '', label: 'any' },
            { value: '7', label: 'in the next 7 days' },
            { value: '30', label: 'in the next 30 days' },
          ]}
        />
        <TextField label="App id" name="appId" value={filters.appId} onChange={set('appId')} placeholder="app_…" />
      </form>
      <ErrorMessage error={list.error} />
      {canWrite && selected.size > 0 ? (
        <div className="toolbar">
          <ConfirmButton
            label={`Revoke ${selected.size} selected`}
            title={`Revoke ${selected.size} keys?`}
            consequence={<p>Every call made with these keys fails at once, from now on. This cannot be undone: clients need new keys.</p>}
            canConfirm={reason.trim().length > 0}
            onConfirm={bulkRevoke}
          >
            <TextField label="Reason (kept in the audit log)" name="reason" value={reason} onChange={setReason} required />
          </ConfirmButton>
        </div>
      ) : null}
      {list.isPending ? (
        <Loading what="keys" />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty>No keys match these filters.</Empty>
      ) : (
        <KeyTable
          keys={list.data?.items ?? []}
          selected={selected}
          onSelect={
            canWrite
              ? (id, on) =>
                  setSelected((s) => {
                    const n = new Set(s);
                    if (on) n.add(id);
                    else n.delete(id);
                    return n;
                  })
              : undefined
          }
        />
      )}
      <Pager page={pages.page} nextCursor={list.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}

/** Requests per UTC day over the 30 days up to the newest (days without requests count 0). */
export function dailySeries(days: { day: string; requests: number }[]) {
  const byDay = new Map(days.map((d) => [Date.parse(`${d.day}T00:00:00Z`) / 1000, d.requests]));
  const today = Math.floor(Date.now() / 86_400_000) * 86_400;
  const last = Math.max(today, ...byDay.keys());
  const x: number[] = [];
  for (let t = last - 29 * 86_400; t <= last; t += 86_400) x.push(t);
  return { x, series: [{ label: 'Requests', values: x.map((t) => byDay.get(t) ?? 0), color: '#1d4ed8' }] };
}

function KeyUsageChart({ id }: { id: string }) {
  const usage = useQuery({ queryKey: ['key-usage', id], queryFn: () => api<KeyUsage>('GET', `/admin/v1/keys/${id}/usage`) });
  const data = useMemo(() => dailySeries(usage.data?.days ?? []), [usage.data]);
  if (usage.isPending) return <Loading what="usage" />;
  if (usage.isError) return <ErrorMessage error={usage.error} />;
  if (!usage.data.days.some((d) => d.requests > 0)) return <Empty>No requests with this key yet.</Empty>;
  return <LineChart title="Requests per day (UTC days)" x={data.x} series={data.series} />;
}

function Addresses({ id }: { id: string }) {
  const pages = useCursor(id);
  const list = useQuery({
    queryKey: ['key-addresses', id, pages.cursor],
    queryFn: () => api<KeyAddresses>('GET', `/admin/v1/keys/${id}/addresses${query({ limit: 20, cursor: pages.cursor })}`),
  });
  if (list.isPending) return <Loading what="addresses" />;
  if (list.isError) return <ErrorMessage error={list.error} />;
  if (list.data.items.length === 0) return <Empty>Not used from any address yet.</Empty>;
  return (
    <>
      <table>
        <thead>
          <tr>
            <th scope="col">Address</th>
            <th scope="col">First seen</th>
            <th scope="col">Last seen</th>
            <th scope="col" className="num">
              Requests
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data.items.map((a) => (
            <tr key={a.address}>
              <td>
                <code>{a.address}</code>
              </td>
              <td>
                <Time at={a.firstSeenAt} />
              </td>
              <td>
                <Time at={a.lastSeenAt} />
              </td>
              <td className="num">{a.requests}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data.otherAddresses ? (
        <p className="muted">Plus {list.data.otherAddresses.requests} requests from addresses no longer tracked one by one.</p>
      ) : null}
      <Pager page={pages.page} nextCursor={list.data.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}

async function download(id: string, format: 'json' | 'markdown') {
  const res = await fetch(`/admin/v1/keys/${id}/impact${query({ format })}`, {
    credentials: 'same-origin',
    headers: { accept: format === 'json' ? 'application/json' : 'text/markdown' },
  });
  if (!res.ok) throw new ApiError(res.status, res.headers.get('content-type')?.includes('json') ? ((await res.json()) as object) : { title: res.statusText });
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `impact-${id}.${format === 'json' ? 'json' : 'md'}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

interface ImpactReport {
  window: { since: string; until: string };
  totals: {
    requests: number;
    forwarded: number;
    denied: number;
    addresses: number;
    newAddresses: number | null;
    userAgents: number;
    firstRequestAt: string | null;
    lastRequestAt: string | null;
  };
}

function Incident({ k }: { k: Key }) {
  const client = useQueryClient();
  const canWrite = useCan('keys:write');
  const [reason, setReason] = useState('');
  const [result, setResult] = useState<Compromise | null>(null);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const impact = useQuery({ queryKey: ['impact', k.id], queryFn: () => api<ImpactReport>('GET', `/admin/v1/keys/${k.id}/impact`) });
  const t = impact.data?.totals;
  return (
    <section aria-labelledby="incident">
      <h2 id="incident">Incident</h2>
      <h3>Impact report</h3>
      {impact.isPending ? <Loading what="the impact report" /> : null}
      <ErrorMessage error={impact.error} />
      {impact.data && t ? (
        <>
          <p>
            From <Time at={impact.data.window.since} /> to <Time at={impact.data.window.until} />: {t.requests} requests ({t.forwarded} forwarded, {t.denied}{' '}
            denied) from {t.addresses} addresses
            {t.newAddresses !== null ? ` (${t.newAddresses} new)` : ''} and {t.userAgents} user agents.
          </p>
          <div className="actions">
            <button type="button" onClick={() => void download(k.id, 'markdown').catch(setDownloadError)}>
              Download report (Markdown)
            </button>
            <button type="button" onClick={() => void download(k.id, 'json').catch(setDownloadError)}>
              Download report (JSON)
            </button>
          </div>
          <ErrorMessage error={downloadError} />
        </>
      ) : null}
      {result ? (
        <div className="card">
          <p role="status">{result.summary}</p>
          {result.replacement ? (
            <>
              <p>
                Replacement: <Link href={`/console/keys/${result.replacement.id}`}>{result.replacement.name || result.replacement.start}</Link>
              </p>
              <SecretOnce secret={result.replacement.secret} />
            </>
          ) : null}
        </div>
      ) : null}
      {canWrite && k.status !== 'revoked' ? (
        <ConfirmButton
          label="Mark compromised"
          title="Mark this key compromised?"
          consequence={
            <p>
              The key is revoked now, with every token exchanged from it: calls with it fail at once. A replacement key with the same settings is issued and its
              secret shown once.
            </p>
          }
          canConfirm={reason.trim().length > 0}
          onConfirm={async () => {
            setResult(await api<Compromise>('POST', `/admin/v1/keys/${k.id}/compromised`, { reason }));
            await client.invalidateQueries({ queryKey: ['keys'] });
            await client.invalidateQueries({ queryKey: ['key', k.id] });
          }}
        >
          <TextField label="What happened (kept in the audit log)" name="compromiseReason" value={reason} onChange={setReason} required />
        </ConfirmButton>
      ) : null}
    </section>
  );
}

function Rotate({ k, onRotated }: { k: Key; onRotated: (r: RotatedKey) => void }) {
  const client = useQueryClient();
  const [grace, setGrace] = useState('3600');
  const [whenDrained, setWhenDrained] = useState(false);
  return (
    <ConfirmButton
      label="Rotate"
      danger={false}
      title="Rotate this key?"
      consequence={
        <p>
          A new key with the same settings is issued. The old key keeps working for the grace period, then stops: every client must switch to the new secret
          before then.
        </p>
      }
      onConfirm={async () => {
        const r = await api<RotatedKey>('POST', `/admin/v1/keys/${k.id}/rotate`, {
          gracePeriodSeconds: Number(grace),
          ...(whenDrained ? { retire: 'when-drained' } : {}),
        });
        onRotated(r);
        await client.invalidateQueries({ queryKey: ['keys'] });
        await client.invalidateQueries({ queryKey: ['key', k.id] });
      }}
    >
      <SelectField
        label="Grace period"
        name="grace"
        value={grace}
        onChange={setGrace}
        options={[
          { value: '0', label: 'none: the old key stops now' },
          { value: '3600', label: '1 hour' },
          { value: '86400', label: '1 day' },
          { value: '604800', label: '7 days' },
        ]}
      />
      <label className="check">
        <input type="checkbox" checked={whenDrained} onChange={(e) => setWhenDrained(e.target.checked)} /> Revoke the old key early once it goes unused
      </label>
    </ConfirmButton>
  );
}

export function KeyDetail({ id }: { id: string }) {
  const client = useQueryClient();
  const canWrite = useCan('keys:write');
  const key = useQuery({ queryKey: ['key', id], queryFn: () => api<Key>('GET', `/admin/v1/keys/${id}`) });
  const [rotated, setRotated] = useState<RotatedKey | null>(null);
  const [reason, setReason] = useState('');
  const toggle = useMutation({
    mutationFn: (enabled: boolean) => api<Key>('PATCH', `/admin/v1/keys/${id}`, { enabled }),
    onSuccess: (k) => {
      client.setQueryData(['key', id], k);
      return client.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  if (key.isPending) return <Loading what="the key" />;
  if (key.isError) return <ErrorMessage error={key.error} />;
  const k = key.data;
  const meta = Object.entries(k.metadata);
  return (
    <>
      <h1>Key {k.name || k.start}</h1>
      <dl className="facts">
        <dt>Id</dt>
        <dd>
          <code>{k.id}</code>
        </dd>
        <dt>Starts with</dt>
        <dd>
          <code>{k.start}</code>
        </dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={k.status} />
          {k.revokedReason ? <> ({k.revokedReason})</> : null}
        </dd>
        <dt>App</dt>
        <dd>
          <Link href={`/console/apps/${k.appId}`}>{k.appId}</Link>
        </dd>
        <dt>Environment</dt>
        <dd>{k.environment}</dd>
        <dt>Created</dt>
        <dd>
          <Time at={k.createdAt} />
        </dd>
        <dt>Expires</dt>
        <dd>{k.expiresAt ? <Time at={k.expiresAt} /> : 'never'}</dd>
        <dt>Last used</dt>
        <dd>
          <Time at={k.lastUsedAt} /> {k.lastUsedFrom ? <>from {k.lastUsedFrom}</> : null}
        </dd>
        <dt>Rotation</dt>
        <dd>{k.rotationDue ? 'due now' : k.rotationDueAt ? <Time at={k.rotationDueAt} /> : 'no rule'}</dd>
        {k.rotatedFrom ? (
          <>
            <dt>Replaces</dt>
            <dd>
              <Link href={`/console/keys/${k.rotatedFrom}`}>{k.rotatedFrom}</Link>
            </dd>
          </>
        ) : null}
        {k.replacedBy ? (
          <>
            <dt>Replaced by</dt>
            <dd>
              <Link href={`/console/keys/${k.replacedBy}`}>{k.replacedBy}</Link>
            </dd>
          </>
        ) : null}
        {meta.map(([name, v]) => (
          <Fragment key={name}>
            <dt>{name}</dt>
            <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
          </Fragment>
        ))}
      </dl>
      {k.drain ? (
        <section className="card" aria-labelledby="drain">
          <h2 id="drain">Traffic still on this key</h2>
          <p>
            Rotated <Time at={k.drain.rotatedAt} />; the grace period ends <Time at={k.drain.graceEndsAt} />.{' '}
            {k.drain.quiet
              ? k.drain.retirable
                ? 'No client has used it since the rotation: it can be revoked now.'
                : 'No client has used it since the rotation.'
              : `Still used since the rotation from ${k.drain.addresses} address(es); last use `}
            {k.drain.quiet ? null : <Time at={k.drain.lastUsedAt} />}
          </p>
          {k.drain.successorId ? (
            <p>
              New key: <Link href={`/console/keys/${k.drain.successorId}`}>{k.drain.successorId}</Link>
            </p>
          ) : (
            <p>
              Its successor no longer works (revoked, expired, deleted or disabled), and no later key of its line does (a replacement issued for it would): keep
              this key until clients have a working one. Rotate it for a working key, or report it compromised for a replacement.
            </p>
          )}
        </section>
      ) : null}
      {rotated ? (
        <section className="card" aria-labelledby="rotated">
          <h2 id="rotated">New key issued</h2>
          <p>
            The new key is <Link href={`/console/keys/${rotated.id}`}>{rotated.id}</Link>. Move clients to it; this key stops working at the end of the grace
            period.
          </p>
          <SecretOnce secret={rotated.secret} />
        </section>
      ) : null}
      {canWrite && k.status !== 'revoked' ? (
        <section aria-labelledby="actions">
          <h2 id="actions">Actions</h2>
          <div className="actions">
            {k.replacedBy && k.drain?.successorId !== null ? null : <Rotate k={k} onRotated={setRotated} />}
            {k.enabled ? (
              <ConfirmButton
                label="Disable"
                title="Disable this key?"
                consequence={<p>Calls with this key are refused until it is enabled again. Nothing else changes.</p>}
                onConfirm={() => toggle.mutateAsync(false)}
              />
            ) : (
              <button type="button" onClick={() => toggle.mutate(true)}>
                Enable
              </button>
            )}
            <ConfirmButton
              label="Revoke"
              title="Revoke this key?"
              consequence={<p>Every call with this key fails from now on, and it cannot be undone: its clients need a new key.</p>}
              canConfirm={reason.trim().length > 0}
              onConfirm={async () => {
                client.setQueryData(['key', id], await api<Key>('POST', `/admin/v1/keys/${id}/revoke`, { reason }));
                await client.invalidateQueries({ queryKey: ['keys'] });
              }}
            >
              <TextField label="Reason (kept in the audit log)" name="revokeReason" value={reason} onChange={setReason} required />
            </ConfirmButton>
          </div>
          <ErrorMessage error={toggle.error} />
        </section>
      ) : null}
      <section aria-labelledby="usage">
        <h2 id="usage">Usage</h2>
        <KeyUsageChart id={id} />
      </section>
      <section aria-labelledby="addresses">
        <h2 id="addresses">Where it is used from</h2>
        <Addresses id={id} />
      </section>
      <Incident k={k} />
      <p>
        <Link href={`/console/requests?keyId=${id}`}>This key's requests in the request log</Link> ·{' '}
        <Link href={`/console/audit?targetId=${id}`}>its audit trail</Link>
      </p>
    </>
  );
}
