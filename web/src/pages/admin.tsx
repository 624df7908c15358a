// The rest of the console: OAuth clients (rotate a secret), users (roles, MFA, sessions, sign out
// everywhere), signing keys (rotate) and webhooks (deliveries, replay); the paginated list they share.
import { useState, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, query, type Page } from '../api.ts';
import { useCan } from '../session.tsx';
import type { Client, SigningKey, User, UserGrants, Webhook } from '../types.ts';
import { ConfirmButton, Empty, ErrorMessage, Loading, Pager, SecretOnce, StatusBadge, Time, useCursor } from '../ui.tsx';
import { DeliveryLog, deliveriesKey } from '../webhook-deliveries.tsx';

/** A paginated admin list: loading, error, empty and the table. Its query key starts with `path`, which writes invalidate. */
export function Listing<T>({
  what,
  path,
  params = {},
  head,
  row,
  empty,
}: {
  what: string;
  path: string;
  params?: Record<string, string>;
  head: string[];
  row: (item: T) => ReactNode;
  empty?: ReactNode;
}) {
  const pages = useCursor(path + JSON.stringify(params));
  const list = useQuery({
    queryKey: [path, params, pages.cursor],
    queryFn: () => api<Page<T>>('GET', `${path}${query({ ...params, limit: 25, cursor: pages.cursor })}`),
  });
  if (list.isPending) return <Loading what={what} />;
  if (list.isError) return <ErrorMessage error={list.error} />;
  if (list.data.items.length === 0) return <Empty>{empty ?? `No ${what} yet.`}</Empty>;
  return (
    <>
      <div className="scroll">
        <table>
          <thead>
            <tr>
              {head.map((h) => (
                <th key={h} scope="col">
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>{list.data.items.map(row)}</tbody>
        </table>
      </div>
      <Pager page={pages.page} nextCursor={list.data.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}

function RotateClientSecret({ c }: { c: Client }) {
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <>
      <ConfirmButton
        label="Rotate secret"
        title={`Replace the secret of ${c.name}?`}
        consequence={<p>The old secret stops working at once: the client fails to get tokens until it is given the new one.</p>}
        onConfirm={async () => setSecret((await api<{ secret?: string; clientSecret?: string }>('POST', `/admin/v1/clients/${c.id}/secret`)).secret ?? null)}
      />
      {secret ? <SecretOnce secret={secret} what="client secret" /> : null}
    </>
  );
}

export function ClientsPage() {
  const canWrite = useCan('clients:write');
  return (
    <>
      <h1>OAuth clients</h1>
      <Listing<Client>
        what="OAuth clients"
        path="/admin/v1/clients"
        head={['Name', 'Type', 'Grants', 'State', canWrite ? 'Secret' : 'Created']}
        row={(c) => (
          <tr key={c.id}>
            <td>
              {c.name} <code>{c.id}</code>
            </td>
            <td>{c.type}</td>
            <td>{c.grantTypes.join(', ')}</td>
            <td>{c.disabled ? 'disabled' : 'enabled'}</td>
            <td>{canWrite && c.type === 'confidential' && !c.firstParty ? <RotateClientSecret c={c} /> : <Time at={c.createdAt} />}</td>
          </tr>
        )}
      />
    </>
  );
}

function UserSessions({ u }: { u: User }) {
  const client = useQueryClient();
  const canWrite = useCan('users:write');
  const grants = useQuery({ queryKey: ['grants', u.id], queryFn: () => api<UserGrants>('GET', `/admin/v1/users/${u.id}/grants`) });
  return (
    <>
      {grants.isPending ? (
        '…'
      ) : grants.isError ? (
        <ErrorMessage error={grants.error} />
      ) : (
        `${counted(grants.data.sessions.length, 'session')}, ${counted(grants.data.grants.length, 'grant')}`
      )}
      {canWrite ? (
        <>
          {' '}
          <ConfirmButton
            label="Sign out everywhere"
            title={`Sign ${u.username} out everywhere?`}
            consequence={<p>Every session and grant of this user ends now: their apps need them to sign in again.</p>}
            onConfirm={async () => {
              await api<unknown>('POST', `/admin/v1/users/${u.id}/grants/revoke`);
              await client.invalidateQueries({ queryKey: ['grants', u.id] });
            }}
          />
        </>
      ) : null}
    </>
  );
}

function ConsoleRole({ u }: { u: User }) {
  const client = useQueryClient();
  const canWrite = useCan('users:write');
  const [error, setError] = useState<unknown>(null);
  const id = `role-${u.id}`;
  if (!canWrite) return <>{u.consoleRole ?? 'none'}</>;
  const change = async (value: string) => {
    setError(null);
    try {
      await api<User>('PATCH', `/admin/v1/users/${u.id}`, { consoleRole: value || null });
      await client.invalidateQueries({ queryKey: ['/admin/v1/users'] });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <label htmlFor={id} className="visually-hidden">
        Console role of {u.username}
      </label>
      <select id={id} value={u.consoleRole ?? ''} onChange={(e) => void change(e.target.value)}>
        {['', 'admin', 'operator', 'auditor', 'developer'].map((r) => (
          <option key={r} value={r}>
            {r || 'none'}
          </option>
        ))}
      </select>
      <ErrorMessage error={error} />
    </>
  );
}

export function UsersPage() {
  return (
    <>
      <h1>Users</h1>
      <Listing<User>
        what="users"
        path="/admin/v1/users"
        head={['User', 'Console role', 'Roles', 'MFA', 'Last sign-in', 'Sessions']}
        row={(u) => (
          <tr key={u.id}>
            <td>
              {u.name ?? u.username} <span className="muted">{u.username}</span> {u.disabled ? <StatusBadge status="disabled" /> : null}
              {u.pendingApproval ? <StatusBadge status="waiting for approval" /> : null}
            </td>
            <td>
              <ConsoleRole u={u} />
            </td>
            <td>{u.roles.join(', ') || <span className="muted">none</span>}</td>
            <td>{u.mfa.enrolled ? 'enrolled' : u.mfa.required ? 'required, not enrolled' : 'off'}</td>
            <td>
              <Time at={u.lastLoginAt} />
            </td>
            <td>
              <UserSessions u={u} />
            </td>
          </tr>
        )}
      />
    </>
  );
}

export function SigningKeysPage() {
  const client = useQueryClient();
  const canWrite = useCan('signing_keys:write');
  const list = useQuery({ queryKey: ['signing-keys'], queryFn: () => api<{ items: SigningKey[] }>('GET', '/admin/v1/signing-keys') });
  return (
    <>
      <h1>Signing keys</h1>
      {canWrite ? (
        <ConfirmButton
          label="Rotate signing key"
          danger={false}
          title="Add a new token-signing key?"
          consequence={
            <p>
              A new key is published now and starts signing tokens after the publish lead; the current key keeps verifying the tokens it signed until they
              expire.
            </p>
          }
          onConfirm={async () => {
            await api<unknown>('POST', '/admin/v1/signing-keys/rotate');
            await client.invalidateQueries({ queryKey: ['signing-keys'] });
          }}
        />
      ) : null}
      {list.isPending ? (
        <Loading what="signing keys" />
      ) : list.isError ? (
        <ErrorMessage error={list.error} />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Key id</th>
              <th scope="col">Algorithm</th>
              <th scope="col">State</th>
              <th scope="col">Signs from</th>
              <th scope="col">Retired</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((k) => (
              <tr key={k.id}>
                <td>
                  <code>{k.id}</code>
                </td>
                <td>{k.alg}</td>
                <td>
                  <StatusBadge status={k.state} />
                </td>
                <td>
                  <Time at={k.activatesAt} />
                </td>
                <td>{k.retiredAt ? <Time at={k.retiredAt} /> : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function WebhooksPage() {
  return (
    <>
      <h1>Webhooks</h1>
      <Listing<Webhook>
        what="webhook endpoints"
        path="/admin/v1/webhooks"
        head={['Endpoint', 'Events', 'State', 'Failures']}
        row={(w) => (
          <tr key={w.id}>
            <td className="wrap">
              <Link href={`/console/webhooks/${w.id}`}>{w.url}</Link>
            </td>
            <td>{w.events.join(', ')}</td>
            <td>{w.enabled ? 'enabled' : `disabled${w.disabledReason ? `: ${w.disabledReason}` : ''}`}</td>
            <td className="num">{w.consecutiveFailures}</td>
          </tr>
        )}
      />
    </>
  );
}

export function WebhookDetail({ id }: { id: string }) {
  const client = useQueryClient();
  const canWrite = useCan('webhooks:write');
  const hook = useQuery({ queryKey: ['webhook', id], queryFn: () => api<Webhook>('GET', `/admin/v1/webhooks/${id}`) });
  const path = `/admin/v1/webhooks/${id}/deliveries`;
  if (hook.isPending) return <Loading what="the endpoint" />;
  if (hook.isError) return <ErrorMessage error={hook.error} />;
  return (
    <>
      <h1>Webhook endpoint</h1>
      <p className="wrap">
        <code>{hook.data.url}</code> · {hook.data.events.join(', ')}
      </p>
      <h2>Deliveries</h2>
      <DeliveryLog
        path={path}
        extra={
          canWrite
            ? {
                head: 'Replay',
                cell: (d) => (
                  <ConfirmButton
                    label="Replay"
                    danger={false}
                    title="Send this delivery again?"
                    consequence={<p>The receiver gets the same event again (the same webhook-id, so it can tell it is a repeat).</p>}
                    onConfirm={async () => {
                      await api<unknown>('POST', `/admin/v1/webhooks/${id}/deliveries/${d.id}/replay`);
                      await client.invalidateQueries({ queryKey: deliveriesKey(path) });
                    }}
                  />
                ),
              }
            : undefined
        }
      />
    </>
  );
}

/** `1 session`, `2 sessions`. */
const counted = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
