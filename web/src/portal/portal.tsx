// The developer portal: the catalogue, my apps, my keys (create, rotate, revoke) and usage against
// limits, all on /portal/v1 (a developer sees and changes only their own). An app's OAuth clients and
// webhooks are their own sections (clients.tsx, webhooks.tsx).
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, query, type Page } from '../api.ts';
import { LineChart } from '../chart.tsx';
import { dailySeries } from '../pages/keys.tsx';
import type { App, Key, NewKey, RotatedKey } from '../types.ts';
import { ConfirmButton, Empty, ErrorMessage, fieldErrorsOf, Loading, Pager, StatusBadge, TextField, Time, useCursor } from '../ui.tsx';
import { AppClients } from './clients.tsx';
import { CatalogueChecks, SecretPanel, type ShownSecret } from './parts.tsx';
import { catalogueQuery, type PortalKey } from './portal-types.ts';
import { AppWebhooks } from './webhooks.tsx';

export function Catalogue() {
  const list = useQuery(catalogueQuery);
  return (
    <>
      <h1>API catalogue</h1>
      <p>The APIs you may use. Create an app and a key under My apps, then call the gateway with the key.</p>
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <Loading what="the catalogue" />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty>No APIs are open to developers yet.</Empty>
      ) : (
        <ul className="cards">
          {list.data?.items.map((a) => (
            <li key={a.id} className="card">
              <h2>{a.name}</h2>
              {a.description ? <p>{a.description}</p> : null}
              <p>
                <code>{a.gatewayUrl}</code>
              </p>
              {a.hasReference ? <Link href={`/developers/apis/${a.id}`}>Reference documentation</Link> : <span className="muted">No reference attached</span>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function PortalApps() {
  const client = useQueryClient();
  const list = useQuery({ queryKey: ['portal-apps'], queryFn: () => api<Page<App>>('GET', '/portal/v1/apps') });
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => api<App>('POST', '/portal/v1/apps', { name }),
    onSuccess: async () => {
      setName('');
      await client.invalidateQueries({ queryKey: ['portal-apps'] });
    },
  });
  const errors = fieldErrorsOf(create.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <>
      <h1>My apps</h1>
      <form className="card inline-form" onSubmit={submit} noValidate aria-label="Create an app">
        <h2>Create an app</h2>
        <TextField label="App name" name="name" value={name} onChange={setName} error={errors['name']} required />
        <ErrorMessage error={create.error} />
        <button type="submit" className="primary" disabled={create.isPending}>
          Create app
        </button>
      </form>
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <Loading what="your apps" />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty>You have no apps yet.</Empty>
      ) : (
        <ul className="cards">
          {list.data?.items.map((a) => (
            <li key={a.id} className="card">
              <h2>
                <Link href={`/developers/apps/${a.id}`}>{a.name}</Link>
              </h2>
              <p className="muted">
                Created <Time at={a.createdAt} />
              </p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function PortalAppDetail({ id }: { id: string }) {
  const client = useQueryClient();
  const app = useQuery({ queryKey: ['portal-app', id], queryFn: () => api<App>('GET', `/portal/v1/apps/${id}`) });
  const pages = useCursor(id);
  // The page is the last part of the key: invalidating ['portal-keys', id] refreshes every page.
  const keys = useQuery({
    queryKey: ['portal-keys', id, pages.cursor],
    queryFn: () => api<Page<PortalKey>>('GET', `/portal/v1/apps/${id}/keys${query({ limit: 50, cursor: pages.cursor })}`),
  });
  const [name, setName] = useState('');
  const [apiIds, setApiIds] = useState<string[]>([]);
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const [reason, setReason] = useState('');
  const create = useMutation({
    mutationFn: () => api<NewKey>('POST', `/portal/v1/apps/${id}/keys`, { name, ...(apiIds.length ? { apiIds } : {}) }),
    onSuccess: async (k) => {
      setSecret({ what: `Key ${k.name || k.start} created.`, secret: k.secret });
      setName('');
      await client.invalidateQueries({ queryKey: ['portal-keys', id] });
    },
  });
  const errors = fieldErrorsOf(create.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  if (app.isPending) return <Loading what="the app" />;
  if (app.isError) return <ErrorMessage error={app.error} />;
  return (
    <>
      <h1>App {app.data.name}</h1>
      {secret ? <SecretPanel id="new-key-secret" shown={secret} onDone={() => setSecret(null)} /> : null}
      <section aria-labelledby="my-keys">
        <h2 id="my-keys">Keys</h2>
        <ErrorMessage error={keys.error} />
        {keys.isPending ? (
          <Loading what="keys" />
        ) : keys.data && keys.data.items.length === 0 ? (
          <Empty>No keys yet: create one below.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {keys.data?.items.map((k) => (
                <tr key={k.id}>
                  <td>
                    <Link href={`/developers/keys/${k.id}`}>{k.name || 'unnamed'}</Link> <code>{k.start}…</code>
                  </td>
                  <td>
                    <StatusBadge status={k.status} />
                  </td>
                  <td>
                    <Time at={k.lastUsedAt} />
                  </td>
                  <td className="actions">
                    {k.status === 'active' ? (
                      <>
                        {k.rotation.allowed ? (
                          <ConfirmButton
                            label="Rotate"
                            danger={false}
                            title="Rotate this key?"
                            consequence={<p>You get a new secret now. The old one keeps working for one hour, then stops: update your app before then.</p>}
                            onConfirm={async () => {
                              const r = await api<RotatedKey>('POST', `/portal/v1/keys/${k.id}/rotate`, { gracePeriodSeconds: 3600 });
                              setSecret({ what: 'Key rotated.', secret: r.secret });
                              await client.invalidateQueries({ queryKey: ['portal-keys', id] });
                            }}
                          />
                        ) : (
                          <RotationBlocked rotation={k.rotation} keys={keys.data?.items ?? []} expiresAt={k.expiresAt} />
                        )}
                        <ConfirmButton
                          label="Revoke"
                          title="Revoke this key?"
                          consequence={<p>Every call with this key fails from now on. This cannot be undone.</p>}
                          canConfirm={reason.trim().length > 0}
                          onConfirm={async () => {
                            await api<Key>('POST', `/portal/v1/keys/${k.id}/revoke`, { reason });
                            await client.invalidateQueries({ queryKey: ['portal-keys', id] });
                          }}
                        >
                          <TextField label="Why" name="reason" value={reason} onChange={setReason} required />
                        </ConfirmButton>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager page={pages.page} nextCursor={keys.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
      </section>
      <form className="card" onSubmit={submit} noValidate aria-label="Create a key">
        <h2>Create a key</h2>
        <TextField label="Key name" name="keyName" value={name} onChange={setName} error={errors['name']} />
        <CatalogueChecks chosen={apiIds} onChange={setApiIds} error={errors['apiIds']} />
        <ErrorMessage error={create.error} />
        <button type="submit" className="primary" disabled={create.isPending}>
          Create key
        </button>
      </form>
      <AppClients appId={id} />
      <AppWebhooks appId={id} />
    </>
  );
}

/**
 * Why a key offers no Rotate (the API would refuse it): it was rotated already, and clients move to its
 * successor; or an earlier key of its line still works in its grace, and a rotation now would leave
 * three keys working.
 */
function RotationBlocked({
  rotation,
  keys,
  expiresAt,
}: {
  rotation: Extract<PortalKey['rotation'], { allowed: false }>;
  keys: PortalKey[];
  expiresAt: string | null;
}) {
  const other = rotation.keyId ? keys.find((k) => k.id === rotation.keyId) : undefined;
  const named = other ? other.name || other.start : rotation.keyId;
  if (rotation.code === 'ROTATION_IN_PROGRESS') {
    return (
      <small className="muted">
        Rotate after <Time at={rotation.until} />: your previous key {named} works until then.
      </small>
    );
  }
  if (rotation.keyId) {
    return (
      <small className="muted">
        Rotated: use {named}. This key stops at <Time at={expiresAt} />.
      </small>
    );
  }
  return <small className="muted">{rotation.reason}</small>;
}

interface PortalUsage {
  keyId?: string;
  days?: { day: string; requests: number }[];
  rateLimits?: { name: string; limit: number; windowSeconds?: number; remaining?: number; used?: number }[] | null;
  quota?: { limit: number; period: string; used?: number; remaining?: number; resetsAt?: string } | null;
}

export function PortalKey({ id }: { id: string }) {
  const usage = useQuery({ queryKey: ['portal-usage', id], queryFn: () => api<PortalUsage>('GET', `/portal/v1/keys/${id}/usage`) });
  const chart = useMemo(() => dailySeries(usage.data?.days ?? []), [usage.data]);
  const total = (usage.data?.days ?? []).reduce((a, d) => a + d.requests, 0);
  return (
    <>
      <h1>Key usage</h1>
      <p>
        <code>{id}</code>
      </p>
      {usage.isPending ? <Loading what="usage" /> : null}
      <ErrorMessage error={usage.error} />
      {usage.data ? (
        <>
          <p data-testid="portal-usage-total">Requests so far: {total}</p>
          {usage.data.quota ? (
            <p>
              Quota: {usage.data.quota.used ?? '?'} of {usage.data.quota.limit} per {usage.data.quota.period}
              {usage.data.quota.resetsAt ? (
                <>
                  , resets <Time at={usage.data.quota.resetsAt} />
                </>
              ) : null}
            </p>
          ) : (
            <p>No quota on this key.</p>
          )}
          {usage.data.rateLimits?.length ? (
            <ul>
              {usage.data.rateLimits.map((r) => (
                <li key={r.name}>
                  Rate limit {r.name}: {r.limit} per {r.windowSeconds ?? '?'} s{r.remaining !== undefined ? `, ${r.remaining} left now` : ''}
                </li>
              ))}
            </ul>
          ) : null}
          {total > 0 ? <LineChart title="Requests per day (UTC days)" x={chart.x} series={chart.series} /> : <Empty>No requests with this key yet.</Empty>}
        </>
      ) : null}
    </>
  );
}
