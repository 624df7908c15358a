// Policies: the settings keys share (access, rate limits, quota, IP allowlist, scopes, rotation):
// list, create, change and delete, with the admin API's validation shown beside each field.
import { useEffect, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useLocation } from 'wouter';
import { api, query, type Page } from '../api.ts';
import { useCan } from '../session.tsx';
import type { Key, Policy } from '../types.ts';
import { ConfirmButton, ErrorMessage, Loading, RowsEditor, SelectField, TextField, Time } from '../ui.tsx';
import { useResourceEditor } from '../editor.ts';
import { Listing } from './admin.tsx';
import { ApiChecks } from './apps.tsx';
import { words } from './apis.tsx';

const LIST = '/admin/v1/policies';

export function PoliciesList() {
  const canWrite = useCan('policies:write');
  return (
    <>
      <h1>Policies</h1>
      {canWrite ? (
        <div className="toolbar">
          <Link className="button primary" href="/console/policies/new">
            Create a policy
          </Link>
        </div>
      ) : null}
      <Listing<Policy>
        what="policies"
        path={LIST}
        head={['Name', 'Rate limits', 'Quota', 'Changed']}
        row={(p) => (
          <tr key={p.id}>
            <td>
              <Link href={`/console/policies/${p.id}`}>{p.name}</Link>
            </td>
            <td>{p.rateLimits?.map((r) => `${r.limit} per ${r.windowSeconds} s`).join(', ') ?? 'none'}</td>
            <td>{p.quota ? `${p.quota.limit} per ${p.quota.period}` : 'none'}</td>
            <td>
              <Time at={p.updatedAt} />
            </td>
          </tr>
        )}
      />
    </>
  );
}

interface LimitRow {
  name: string;
  limit: string;
  windowSeconds: string;
}

/** The form's text, as typed. */
interface PolicyForm {
  name: string;
  apiIds: string[];
  rateLimits: LimitRow[];
  quotaLimit: string;
  quotaPeriod: string;
  ipAllowlist: string;
  scopes: string;
  periodDays: string;
  noticeDays: string;
  expireAfterGraceDays: string;
}

const EMPTY: PolicyForm = {
  name: '',
  apiIds: [],
  rateLimits: [],
  quotaLimit: '',
  quotaPeriod: 'month',
  ipAllowlist: '',
  scopes: '',
  periodDays: '',
  noticeDays: '',
  expireAfterGraceDays: '',
};

const listOrNull = (text: string): string[] | null => (words(text).length ? words(text) : null);
/** A number as typed; anything else goes as typed, so the admin API's message about it lands beside the field. */
const num = (text: string): number | string => (text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text);
const optionalNum = (key: string, text: string) => (text.trim() ? { [key]: num(text) } : {});

function formOf(p: Policy): PolicyForm {
  return {
    name: p.name,
    apiIds: (p.access ?? []).map((r) => r.apiId),
    rateLimits: (p.rateLimits ?? []).map((r) => ({ name: r.name, limit: String(r.limit), windowSeconds: String(r.windowSeconds ?? '') })),
    quotaLimit: p.quota ? String(p.quota.limit) : '',
    quotaPeriod: p.quota?.period ?? 'month',
    ipAllowlist: (p.ipAllowlist ?? []).join(' '),
    scopes: (p.scopes ?? []).join(' '),
    periodDays: p.rotation ? String(p.rotation.periodDays) : '',
    noticeDays: p.rotation?.noticeDays === undefined ? '' : String(p.rotation.noticeDays),
    expireAfterGraceDays: p.rotation?.expireAfterGraceDays === undefined ? '' : String(p.rotation.expireAfterGraceDays),
  };
}

/** Every setting, each one null when left empty (the policy then sets nothing there), for POST and PATCH alike. */
function bodyOf(f: PolicyForm, existing: Policy | undefined) {
  // An API still ticked keeps the methods and paths its rule had (the form does not edit them).
  const rule = (apiId: string) => existing?.access?.find((r) => r.apiId === apiId) ?? { apiId };
  return {
    name: f.name,
    access: f.apiIds.length ? f.apiIds.map(rule) : null,
    rateLimits: f.rateLimits.length ? f.rateLimits.map((r) => ({ name: r.name, limit: num(r.limit), windowSeconds: num(r.windowSeconds) })) : null,
    quota: f.quotaLimit.trim() ? { limit: num(f.quotaLimit), period: f.quotaPeriod } : null,
    ipAllowlist: listOrNull(f.ipAllowlist),
    scopes: listOrNull(f.scopes),
    rotation: f.periodDays.trim()
      ? { periodDays: num(f.periodDays), ...optionalNum('noticeDays', f.noticeDays), ...optionalNum('expireAfterGraceDays', f.expireAfterGraceDays) }
      : null,
  };
}

/** The first error for a field or anything inside it (`ipAllowlist` for `ipAllowlist.2`). */
const errorAt = (errors: Record<string, string>, name: string): string | undefined =>
  errors[name] ?? Object.entries(errors).find(([k]) => k.startsWith(`${name}.`))?.[1];

export function PolicyEdit({ id }: { id: string | null }) {
  const canWrite = useCan('policies:write');
  const [form, setForm] = useState<PolicyForm>(EMPTY);
  const { existing, save, errors, submit, edited } = useResourceEditor<Policy>({
    id,
    path: LIST,
    itemKey: (policyId) => [LIST, policyId],
    listKey: [LIST],
    pageOf: (policyId) => `/console/policies/${policyId}`,
    body: (stored) => bodyOf(form, stored),
  });
  useEffect(() => {
    if (existing.data) setForm(formOf(existing.data));
  }, [existing.data]);
  const set =
    <K extends keyof PolicyForm>(k: K) =>
    (v: PolicyForm[K]) =>
      setForm((f) => ({ ...f, [k]: v }));
  if (id && existing.isPending) return <Loading what="the policy" />;
  if (id && existing.isError) return <ErrorMessage error={existing.error} />;
  return (
    <>
      <h1>{id ? `Policy ${existing.data?.name ?? ''}` : 'Create a policy'}</h1>
      {id ? (
        <p className="muted">
          <code>{id}</code> · changed <Time at={existing.data?.updatedAt} />. A change applies at once to every key with this policy.
        </p>
      ) : null}
      <form onSubmit={submit} onInput={edited} noValidate aria-label={id ? 'Change the policy' : 'Create a policy'}>
        <fieldset disabled={!canWrite}>
          <TextField label="Name" name="name" value={form.name} onChange={set('name')} error={errors['name']} required />
          <ApiChecks legend="APIs its keys may call" selected={form.apiIds} onChange={set('apiIds')} error={errorAt(errors, 'access')} />
          <LimitsEditor rows={form.rateLimits} onChange={set('rateLimits')} errors={errors} readOnly={!canWrite} />
          <fieldset>
            <legend>Quota</legend>
            <TextField
              label="Requests per period"
              name="quotaLimit"
              value={form.quotaLimit}
              onChange={set('quotaLimit')}
              error={errorAt(errors, 'quota')}
              inputMode="numeric"
              hint="Empty: no quota"
            />
            <SelectField
              label="Period"
              name="quotaPeriod"
              value={form.quotaPeriod}
              onChange={set('quotaPeriod')}
              options={[
                { value: 'day', label: 'per UTC day' },
                { value: 'month', label: 'per UTC month' },
              ]}
            />
          </fieldset>
          <TextField label="Scopes" name="scopes" value={form.scopes} onChange={set('scopes')} error={errorAt(errors, 'scopes')} hint="Separated by spaces" />
          <TextField
            label="IP allowlist"
            name="ipAllowlist"
            value={form.ipAllowlist}
            onChange={set('ipAllowlist')}
            error={errorAt(errors, 'ipAllowlist')}
            hint="Addresses or CIDR blocks, separated by spaces; empty: any address"
          />
          <fieldset>
            <legend>Rotation</legend>
            <TextField
              label="Rotate every (days)"
              name="periodDays"
              value={form.periodDays}
              onChange={set('periodDays')}
              error={errorAt(errors, 'rotation.periodDays') ?? errors['rotation']}
              inputMode="numeric"
              hint="Empty: no rotation rule"
            />
            <TextField
              label="Announce (days before)"
              name="noticeDays"
              value={form.noticeDays}
              onChange={set('noticeDays')}
              error={errors['rotation.noticeDays']}
              inputMode="numeric"
            />
            <TextField
              label="Expire unrotated keys after (days)"
              name="expireAfterGraceDays"
              value={form.expireAfterGraceDays}
              onChange={set('expireAfterGraceDays')}
              error={errors['rotation.expireAfterGraceDays']}
              inputMode="numeric"
              hint="Empty: never"
            />
          </fieldset>
          <ErrorMessage error={save.error} />
          {save.isSuccess ? (
            <p role="status" className="ok">
              Saved.
            </p>
          ) : null}
          {canWrite ? (
            <button type="submit" className="primary" disabled={save.isPending}>
              {id ? 'Save changes' : 'Create'}
            </button>
          ) : null}
        </fieldset>
      </form>
      {id && canWrite && existing.data ? <DeletePolicy policy={existing.data} /> : null}
    </>
  );
}

/** Named rate limits (requests per window), added and removed as rows. */
function LimitsEditor({
  rows,
  onChange,
  errors,
  readOnly,
}: {
  rows: LimitRow[];
  onChange: (rows: LimitRow[]) => void;
  errors: Record<string, string>;
  readOnly: boolean;
}) {
  const err = (i: number, k: string) => errors[`rateLimits.${i}.${k}`];
  return (
    <RowsEditor
      legend="Rate limits"
      noun="rate limit"
      short="limit"
      rows={rows}
      onChange={onChange}
      blank={{ name: '', limit: '', windowSeconds: '60' }}
      readOnly={readOnly}
      intro={errors['rateLimits'] ? <small className="field-error">{errors['rateLimits']}</small> : null}
    >
      {(r, i, field) => (
        <>
          <TextField label={`Limit ${i + 1}: name`} name={`limit-${i}-name`} value={r.name} onChange={field('name')} error={err(i, 'name')} />
          <TextField
            label={`Limit ${i + 1}: requests`}
            name={`limit-${i}-limit`}
            value={r.limit}
            onChange={field('limit')}
            error={err(i, 'limit')}
            inputMode="numeric"
          />
          <TextField
            label={`Limit ${i + 1}: per seconds`}
            name={`limit-${i}-window`}
            value={r.windowSeconds}
            onChange={field('windowSeconds')}
            error={err(i, 'windowSeconds')}
            inputMode="numeric"
          />
        </>
      )}
    </RowsEditor>
  );
}

/** How many keys a dialog names before it only counts. */
const NAMED_KEYS = 100;

/**
 * Deleting a policy: the admin API refuses while any key names it (revoked ones too), so the dialog
 * names those keys first, and offers the deletion only when there are none.
 */
function DeletePolicy({ policy }: { policy: Policy }) {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const keys = useQuery({
    queryKey: ['keys', 'policy', policy.id],
    queryFn: () => api<Page<Key>>('GET', `/admin/v1/keys${query({ policyId: policy.id, limit: NAMED_KEYS })}`),
  });
  const using = keys.data?.items ?? [];
  const consequence = keys.isPending ? (
    <Loading what="the keys with this policy" />
  ) : keys.isError ? (
    <ErrorMessage error={keys.error} />
  ) : using.length === 0 ? (
    <p>No key has this policy, so no key’s access or limits change. The policy is gone for good.</p>
  ) : (
    <>
      <p>
        {keys.data?.nextCursor ? `More than ${NAMED_KEYS}` : using.length} {using.length === 1 ? 'key gets' : 'keys get'} access, limits or quota from this
        policy. Gatehouse keeps a policy while any key has it (revoked keys too): give these keys another policy, or delete them, first.
      </p>
      <ul>
        {using.map((k) => (
          <li key={k.id}>
            <Link href={`/console/keys/${k.id}`}>{k.name || k.start}</Link> ({k.status})
          </li>
        ))}
      </ul>
    </>
  );
  return (
    <section className="danger-zone" aria-labelledby="delete-policy">
      <h2 id="delete-policy">Delete</h2>
      <ConfirmButton
        label="Delete this policy"
        title={`Delete the policy ${policy.name}?`}
        consequence={consequence}
        canConfirm={keys.isSuccess && using.length === 0}
        onConfirm={async () => {
          await api<void>('DELETE', `${LIST}/${policy.id}`);
          // Away first, so the deleted policy's own query is no longer active and is not read again.
          navigate('/console/policies');
          await client.invalidateQueries({ queryKey: [LIST] });
        }}
      />
    </section>
  );
}
