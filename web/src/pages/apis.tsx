// APIs: list, publish and change, with the admin API's validation shown beside each field.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useLocation } from 'wouter';
import { api, query, type Page } from '../api.ts';
import { useCan } from '../session.tsx';
import type { Api } from '../types.ts';
import { ConfirmButton, Empty, ErrorMessage, Loading, Pager, RowsEditor, SelectField, TextField, Time, useCursor } from '../ui.tsx';
import { useResourceEditor } from '../editor.ts';

const AUTH_TYPES = ['apiKey', 'bearer', 'apiKey+bearer', 'public', 'publishable'];

export function ApisList() {
  const [name, setName] = useState('');
  const pages = useCursor(name);
  const canWrite = useCan('apis:write');
  const list = useQuery({
    queryKey: ['apis', name, pages.cursor],
    queryFn: () => api<Page<Api>>('GET', `/admin/v1/apis${query({ limit: 25, name: name || undefined, cursor: pages.cursor })}`),
  });
  return (
    <>
      <h1>APIs</h1>
      <div className="toolbar">
        <TextField label="Name (exact)" name="name" value={name} onChange={setName} />
        {canWrite ? (
          <Link className="button primary" href="/console/apis/new">
            Publish an API
          </Link>
        ) : null}
      </div>
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <Loading what="APIs" />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty>No APIs yet. {canWrite ? 'Publish one to route traffic through the gateway.' : ''}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Listen path</th>
              <th scope="col">Upstream</th>
              <th scope="col">Auth</th>
              <th scope="col">Changed</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((a) => (
              <tr key={a.id}>
                <td>
                  <Link href={`/console/apis/${a.id}`}>{a.name}</Link>
                </td>
                <td>
                  <code>{a.listenPath}</code>
                </td>
                <td className="wrap">{a.upstreamUrl}</td>
                <td>{a.auth.type}</td>
                <td>
                  <Time at={a.updatedAt} />
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

export function ApiEdit({ id }: { id: string | null }) {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const canWrite = useCan('apis:write');
  const [form, setForm] = useState({ name: '', listenPath: '/', upstreamUrl: 'https://', authType: 'apiKey', scopes: '', roles: '', timeoutSeconds: '30' });
  const [routes, setRoutes] = useState<RouteRow[]>([]);
  const [portal, setPortal] = useState({ listed: false, description: '' });
  const { existing, save, errors, submit, edited } = useResourceEditor<Api>({
    id,
    path: '/admin/v1/apis',
    itemKey: (apiId) => ['api', apiId],
    listKey: ['apis'],
    pageOf: (apiId) => `/console/apis/${apiId}`,
    body: (stored) => {
      const roles = words(form.roles);
      return {
        name: form.name,
        listenPath: form.listenPath,
        upstreamUrl: form.upstreamUrl,
        auth: {
          ...(stored?.auth ?? {}),
          type: form.authType,
          scopes: words(form.scopes),
          // A PATCH is a merge patch: roles left out would stay as they are, so clearing them sends null.
          ...(roles.length ? { roles } : stored ? { roles: null } : {}),
          routes: routes.map(routeBody),
        },
        timeoutSeconds: Number(form.timeoutSeconds),
        // Sent when it says something: listed, or a change to an API that has portal settings.
        ...(portal.listed || stored?.portal ? { portal: { listed: portal.listed, description: portal.description.trim() || null } } : {}),
      };
    },
  });
  useEffect(() => {
    const a = existing.data;
    if (!a) return;
    setForm({
      name: a.name,
      listenPath: a.listenPath,
      upstreamUrl: a.upstreamUrl,
      authType: a.auth.type,
      scopes: a.auth.scopes.join(' '),
      roles: (a.auth.roles ?? []).join(' '),
      timeoutSeconds: String(a.timeoutSeconds),
    });
    setRoutes((a.auth.routes ?? []).map(routeRow));
    setPortal({ listed: a.portal?.listed ?? false, description: a.portal?.description ?? '' });
  }, [existing.data]);
  const set = (k: keyof typeof form) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  if (id && existing.isPending) return <Loading what="the API" />;
  if (id && existing.isError) return <ErrorMessage error={existing.error} />;
  return (
    <>
      <h1>{id ? `API ${existing.data?.name ?? ''}` : 'Publish an API'}</h1>
      {id ? (
        <p className="muted">
          <code>{id}</code> · created <Time at={existing.data?.createdAt} />
        </p>
      ) : null}
      <form onSubmit={submit} onInput={edited} noValidate aria-label={id ? 'Change the API' : 'Publish an API'}>
        <fieldset disabled={!canWrite}>
          <TextField
            label="Name"
            name="name"
            value={form.name}
            onChange={set('name')}
            error={errors['name']}
            hint="Lower case letters, digits and dashes"
            required
          />
          <TextField
            label="Listen path"
            name="listenPath"
            value={form.listenPath}
            onChange={set('listenPath')}
            error={errors['listenPath']}
            hint="Where the gateway answers, e.g. /weather"
            required
          />
          <TextField label="Upstream URL" name="upstreamUrl" value={form.upstreamUrl} onChange={set('upstreamUrl')} error={errors['upstreamUrl']} required />
          <SelectField
            label="Authentication"
            name="authType"
            value={form.authType}
            onChange={set('authType')}
            options={AUTH_TYPES.map((t) => ({ value: t, label: t }))}
            error={errors['auth.type'] ?? errors['auth']}
          />
          <TextField
            label="Required scopes"
            name="scopes"
            value={form.scopes}
            onChange={set('scopes')}
            error={errors['auth.scopes'] ?? errors['auth.scopes.0']}
            hint="Separated by spaces"
          />
          <TextField
            label="Required roles"
            name="roles"
            value={form.roles}
            onChange={set('roles')}
            error={errors['auth.roles'] ?? errors['auth.roles.0']}
            hint="Bearer tokens only; separated by spaces"
          />
          <RoutesEditor routes={routes} onChange={setRoutes} errors={errors} readOnly={!canWrite} />
          <fieldset className="checks">
            <legend>Developer portal</legend>
            <label className="check">
              <input type="checkbox" name="listed" checked={portal.listed} onChange={(e) => setPortal((p) => ({ ...p, listed: e.target.checked }))} />
              Listed in the catalogue (developers' keys may call it)
            </label>
            {errors['portal.listed'] ? <small className="field-error">{errors['portal.listed']}</small> : null}
          </fieldset>
          {portal.listed ? (
            <TextField
              label="Description for developers"
              name="portalDescription"
              value={portal.description}
              onChange={(v) => setPortal((p) => ({ ...p, description: v }))}
              error={errors['portal.description']}
            />
          ) : null}
          <TextField
            label="Upstream timeout (seconds)"
            name="timeoutSeconds"
            value={form.timeoutSeconds}
            onChange={set('timeoutSeconds')}
            error={errors['timeoutSeconds']}
            inputMode="numeric"
          />
          <ErrorMessage error={save.error} />
          {save.isSuccess ? (
            <p role="status" className="ok">
              Saved.
            </p>
          ) : null}
          {canWrite ? (
            <button type="submit" className="primary" disabled={save.isPending}>
              {id ? 'Save changes' : 'Publish'}
            </button>
          ) : null}
        </fieldset>
      </form>
      {id && canWrite ? <ApiReferenceUpload id={id} /> : null}
      {id && canWrite ? (
        <section className="danger-zone" aria-labelledby="delete-api">
          <h2 id="delete-api">Delete</h2>
          <ConfirmButton
            label="Delete this API"
            title={`Delete the API ${existing.data?.name ?? ''}?`}
            consequence={<p>The gateway stops answering on {existing.data?.listenPath}: every call to it fails at once, with every key.</p>}
            onConfirm={async () => {
              await api<void>('DELETE', `/admin/v1/apis/${id}`);
              await client.invalidateQueries({ queryKey: ['apis'] });
              navigate('/console/apis');
            }}
          />
        </section>
      ) : null}
    </>
  );
}

/** Attaches the OpenAPI document the portal's reference page renders (PUT /admin/v1/apis/{id}/openapi). */
function ApiReferenceUpload({ id }: { id: string }) {
  const [text, setText] = useState('');
  const upload = useMutation({
    mutationFn: () =>
      api<unknown>('PUT', `/admin/v1/apis/${id}/openapi`, undefined, {
        raw: { text, contentType: text.trimStart().startsWith('{') ? 'application/json' : 'application/yaml' },
      }),
  });
  return (
    <section aria-labelledby="reference">
      <h2 id="reference">Reference documentation</h2>
      <p className="muted">An OpenAPI 3 document (JSON or YAML) shown to developers in the portal.</p>
      <div className="field">
        <label htmlFor="openapi-file">OpenAPI file</label>
        <input
          id="openapi-file"
          type="file"
          accept=".json,.yaml,.yml,application/json,application/yaml"
          onChange={(e) => void e.target.files?.[0]?.text().then(setText)}
        />
      </div>
      <ErrorMessage error={upload.error} />
      {upload.isSuccess ? (
        <p role="status" className="ok">
          Attached.
        </p>
      ) : null}
      <button type="button" disabled={!text || upload.isPending} onClick={() => upload.mutate()}>
        Attach document
      </button>
    </section>
  );
}

/** A list typed as words, separated by spaces or commas. */
export const words = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

/** One route rule as the form edits it: words typed in text fields, and what the form does not edit (roles, limits) kept as it was. */
interface RouteRow {
  paths: string;
  methods: string;
  type: string;
  scopes: string;
  kept?: Record<string, unknown>;
}

interface RouteRule {
  paths?: string[];
  methods?: string[];
  type?: string;
  scopes?: string[];
}

function routeRow(r: unknown): RouteRow {
  const { paths, methods, type, scopes, ...kept } = r as RouteRule & Record<string, unknown>;
  return { paths: (paths ?? []).join(' '), methods: (methods ?? []).join(' '), type: type ?? '', scopes: (scopes ?? []).join(' '), kept };
}

function routeBody(r: RouteRow): RouteRule {
  return {
    ...r.kept,
    paths: words(r.paths),
    ...(words(r.methods).length ? { methods: words(r.methods).map((m) => m.toUpperCase()) } : {}),
    ...(r.type ? { type: r.type } : {}),
    ...(words(r.scopes).length ? { scopes: words(r.scopes) } : {}),
  };
}

/** Per-route rules (auth.routes): which paths and methods need which authentication and scopes. */
function RoutesEditor({
  routes,
  onChange,
  errors,
  readOnly,
}: {
  routes: RouteRow[];
  onChange: (rows: RouteRow[]) => void;
  errors: Record<string, string>;
  readOnly: boolean;
}) {
  const err = (i: number, k: string) => errors[`auth.routes.${i}.${k}`] ?? errors[`auth.routes.${i}.${k}.0`];
  return (
    <RowsEditor
      legend="Route rules"
      noun="route rule"
      short="rule"
      rows={routes}
      onChange={onChange}
      blank={{ paths: '', methods: '', type: '', scopes: '' }}
      readOnly={readOnly}
      intro={<p className="hint">Rules for some paths of this API: the first matching rule applies; other paths use the settings above.</p>}
    >
      {(r, i, field) => (
        <>
          <TextField
            label={`Rule ${i + 1}: paths`}
            name={`route-${i}-paths`}
            value={r.paths}
            onChange={field('paths')}
            error={err(i, 'paths') ?? errors[`auth.routes.${i}`]}
            hint="e.g. /admin/** /reports/*"
          />
          <TextField
            label={`Rule ${i + 1}: methods`}
            name={`route-${i}-methods`}
            value={r.methods}
            onChange={field('methods')}
            error={err(i, 'methods')}
            hint="Empty: every method"
          />
          <SelectField
            label={`Rule ${i + 1}: authentication`}
            name={`route-${i}-type`}
            value={r.type}
            onChange={field('type')}
            options={[{ value: '', label: 'as the API' }, ...AUTH_TYPES.map((t) => ({ value: t, label: t }))]}
            error={err(i, 'type')}
          />
          <TextField label={`Rule ${i + 1}: scopes`} name={`route-${i}-scopes`} value={r.scopes} onChange={field('scopes')} error={err(i, 'scopes')} />
        </>
      )}
    </RowsEditor>
  );
}
