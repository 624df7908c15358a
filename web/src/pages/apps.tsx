// Apps: search by name, register, and each app's keys (issue a key: its secret shown once).
import { Fragment, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useLocation } from 'wouter';
import { api, query, type Page } from '../api.ts';
import { useCan } from '../session.tsx';
import type { Api, App, Key, NewKey } from '../types.ts';
import { ConfirmButton, Empty, ErrorMessage, fieldErrorsOf, Loading, Pager, SecretOnce, SelectField, TextField, Time, useCursor } from '../ui.tsx';
import { KeyTable } from './keys.tsx';

export function AppsList() {
  const [name, setName] = useState('');
  const pages = useCursor(name);
  const canWrite = useCan('apps:write');
  const list = useQuery({
    queryKey: ['apps', name, pages.cursor],
    queryFn: () => api<Page<App>>('GET', `/admin/v1/apps${query({ limit: 25, name: name || undefined, cursor: pages.cursor })}`),
  });
  return (
    <>
      <h1>Apps</h1>
      <div className="toolbar">
        <TextField label="Name (exact)" name="name" value={name} onChange={setName} />
      </div>
      {canWrite ? <CreateApp /> : null}
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <Loading what="apps" />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty>No apps{name ? ' with that name' : ' yet'}.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Owner</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((a) => (
              <tr key={a.id}>
                <td>
                  <Link href={`/console/apps/${a.id}`}>{a.name}</Link>
                </td>
                <td>{a.owner ?? <span className="muted">none</span>}</td>
                <td>
                  <Time at={a.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={pages.page} nextCursor={list.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}

/** Metadata typed as JSON: parse errors are shown beside the field before anything is sent. */
export function parseMetadata(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  if (!text.trim()) return { ok: true, value: {} };
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: 'Metadata must be a JSON object, e.g. {"team": "payments"}' };
    return { ok: true, value: v as Record<string, unknown> };
  } catch (error) {
    return { ok: false, error: `Not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function CreateApp() {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const [name, setName] = useState('');
  const [owner, setOwner] = useState('');
  const create = useMutation({
    mutationFn: () => api<App>('POST', '/admin/v1/apps', { name, owner: owner || null }),
    onSuccess: async (a) => {
      await client.invalidateQueries({ queryKey: ['apps'] });
      navigate(`/console/apps/${a.id}`);
    },
  });
  const errors = fieldErrorsOf(create.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form className="card inline-form" onSubmit={submit} noValidate aria-label="Register an app">
      <h2>Register an app</h2>
      <TextField label="App name" name="name" value={name} onChange={setName} error={errors['name']} required />
      <TextField label="Owner" name="owner" value={owner} onChange={setOwner} error={errors['owner']} hint="A team or person to contact" />
      <ErrorMessage error={create.error} />
      <button type="submit" className="primary" disabled={create.isPending}>
        Register
      </button>
    </form>
  );
}

export function AppDetail({ id }: { id: string }) {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const canWriteKeys = useCan('keys:write');
  const canWriteApps = useCan('apps:write');
  const app = useQuery({ queryKey: ['app', id], queryFn: () => api<App>('GET', `/admin/v1/apps/${id}`) });
  const pages = useCursor(id);
  const keys = useQuery({
    queryKey: ['keys', 'app', id, pages.cursor],
    queryFn: () => api<Page<Key>>('GET', `/admin/v1/keys${query({ appId: id, limit: 25, cursor: pages.cursor })}`),
  });
  if (app.isPending) return <Loading what="the app" />;
  if (app.isError) return <ErrorMessage error={app.error} />;
  const a = app.data;
  const meta = Object.entries(a.metadata);
  return (
    <>
      <h1>App {a.name}</h1>
      <dl className="facts">
        <dt>Id</dt>
        <dd>
          <code>{a.id}</code>
        </dd>
        <dt>Owner</dt>
        <dd>{a.owner ?? 'none'}</dd>
        <dt>Created</dt>
        <dd>
          <Time at={a.createdAt} />
        </dd>
        {meta.map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
          </Fragment>
        ))}
      </dl>
      <section aria-labelledby="app-keys">
        <h2 id="app-keys">Keys</h2>
        <ErrorMessage error={keys.error} />
        {keys.isPending ? (
          <Loading what="keys" />
        ) : keys.data && keys.data.items.length === 0 ? (
          <Empty>This app has no keys yet.</Empty>
        ) : (
          <KeyTable keys={keys.data?.items ?? []} />
        )}
        <Pager page={pages.page} nextCursor={keys.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
      </section>
      {canWriteKeys ? <IssueKey appId={id} /> : null}
      {canWriteApps ? (
        <section className="danger-zone" aria-labelledby="delete-app">
          <h2 id="delete-app">Delete</h2>
          <ConfirmButton
            label="Delete this app"
            title={`Delete the app ${a.name}?`}
            consequence={
              <p>
                Its revoked and expired keys are deleted with it; a key still in use (revoke it first) keeps the app. Its usage history stays in the request
                log.
              </p>
            }
            onConfirm={async () => {
              await api<void>('DELETE', `/admin/v1/apps/${id}`);
              await client.invalidateQueries({ queryKey: ['apps'] });
              navigate('/console/apps');
            }}
          />
        </section>
      ) : null}
    </>
  );
}

function IssueKey({ appId }: { appId: string }) {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [environment, setEnvironment] = useState('live');
  const [apiIds, setApiIds] = useState<string[]>([]);
  const [metadata, setMetadata] = useState('');
  const [expiresInDays, setExpiresInDays] = useState('');
  const [created, setCreated] = useState<NewKey | null>(null);
  const parsed = parseMetadata(metadata);
  const issue = useMutation({
    mutationFn: () =>
      api<NewKey>('POST', '/admin/v1/keys', {
        appId,
        name,
        environment,
        access: apiIds.map((apiId) => ({ apiId })),
        metadata: parsed.ok ? parsed.value : {},
        ...(expiresInDays ? { expiresInSeconds: Math.round(Number(expiresInDays) * 86400) } : {}),
      }),
    onSuccess: async (k) => {
      setCreated(k);
      await client.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  const errors = fieldErrorsOf(issue.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (parsed.ok) issue.mutate();
  };
  return (
    <section className="card" aria-labelledby="issue-key">
      <h2 id="issue-key">Issue a key</h2>
      {created ? (
        <>
          <p>
            Key <Link href={`/console/keys/${created.id}`}>{created.name || created.start}</Link> issued.
          </p>
          <SecretOnce secret={created.secret} />
          <button type="button" onClick={() => setCreated(null)}>
            Issue another
          </button>
        </>
      ) : (
        <form onSubmit={submit} noValidate aria-label="Issue a key">
          <TextField label="Key name" name="keyName" value={name} onChange={setName} error={errors['name']} />
          <SelectField
            label="Environment"
            name="environment"
            value={environment}
            onChange={setEnvironment}
            options={[
              { value: 'live', label: 'live' },
              { value: 'test', label: 'test' },
            ]}
            error={errors['environment']}
          />
          <ApiChecks legend="APIs this key may call" selected={apiIds} onChange={setApiIds} error={errors['access']} />
          <TextField
            label="Expires in (days)"
            name="expiresInDays"
            value={expiresInDays}
            onChange={setExpiresInDays}
            error={errors['expiresInSeconds']}
            inputMode="numeric"
            hint="Empty: never"
          />
          <TextField
            label="Metadata (JSON)"
            name="metadata"
            value={metadata}
            onChange={setMetadata}
            error={parsed.ok ? errors['metadata'] : parsed.error}
            hint='For example {"ticket": "OPS-12"}'
          />
          <ErrorMessage error={issue.error} />
          <button type="submit" className="primary" disabled={issue.isPending}>
            Issue key
          </button>
        </form>
      )}
    </section>
  );
}

/** Checkboxes of the published APIs (the first 100): which a key or a policy gives access to. */
export function ApiChecks({
  legend,
  selected,
  onChange,
  error,
}: {
  legend: string;
  selected: string[];
  onChange: (ids: string[]) => void;
  error?: string | undefined;
}) {
  const apis = useQuery({ queryKey: ['apis', 'all'], queryFn: () => api<Page<Api>>('GET', '/admin/v1/apis?limit=100') });
  return (
    <fieldset className="checks">
      <legend>{legend}</legend>
      <ErrorMessage error={apis.error} />
      {apis.data?.items.length === 0 ? <Empty>Publish an API first.</Empty> : null}
      {apis.data?.items.map((a) => (
        <label key={a.id} className="check">
          <input
            type="checkbox"
            name="api"
            value={a.id}
            checked={selected.includes(a.id)}
            onChange={(e) => onChange(e.target.checked ? [...selected, a.id] : selected.filter((x) => x !== a.id))}
          />
          {a.name} <code>{a.listenPath}</code>
        </label>
      ))}
      {error ? <small className="field-error">{error}</small> : null}
    </fieldset>
  );
}
