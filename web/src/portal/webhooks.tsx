// An app's webhook endpoints in the portal: add one (its signing secret shown once), and on its own
// page the delivery log, a test event, a new secret, pausing and deleting. Each endpoint gets only
// events about its app's keys and clients; the server checks where the URL leads (no private networks).
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useLocation } from 'wouter';
import { api, type Page } from '../api.ts';
import { ConfirmButton, Empty, ErrorMessage, fieldErrorsOf, Loading, TextField } from '../ui.tsx';
import { DeliveryLog } from '../webhook-deliveries.tsx';
import { CheckList, SecretPanel, type ShownSecret } from './parts.tsx';
import { settingsQuery, type PortalWebhook, type PortalWebhookWithSecret, type WebhookTest } from './portal-types.ts';

/** How a webhook secret is kept: sealed, to sign with, so it is shown only when made. */
const SEALED = 'it keeps it sealed, to sign events with';
const state = (w: PortalWebhook): string => (w.enabled ? 'enabled' : `paused${w.disabledReason ? `: ${w.disabledReason}` : ''}`);

export function AppWebhooks({ appId }: { appId: string }) {
  const client = useQueryClient();
  const settings = useQuery(settingsQuery);
  const queryKey = ['portal-webhooks', appId];
  const enabled = settings.data?.webhooksEnabled === true;
  const list = useQuery({ queryKey, enabled, queryFn: () => api<Page<PortalWebhook>>('GET', `/portal/v1/apps/${appId}/webhooks`) });
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const create = useMutation({
    mutationFn: () => api<PortalWebhookWithSecret>('POST', `/portal/v1/apps/${appId}/webhooks`, { url, events }),
    onSuccess: async (w) => {
      setUrl('');
      setSecret({ what: 'Webhook endpoint added.', secret: w.secret, kind: 'signing secret', kept: SEALED });
      await client.invalidateQueries({ queryKey });
    },
  });
  const errors = fieldErrorsOf(create.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  if (settings.data && !enabled) return null;
  return (
    <section aria-labelledby="my-webhooks">
      <h2 id="my-webhooks">Webhooks</h2>
      <p>Gatehouse sends a signed POST to your URL when something happens to this app’s keys or clients.</p>
      {secret ? <SecretPanel id="new-webhook-secret" shown={secret} onDone={() => setSecret(null)} /> : null}
      <ErrorMessage error={list.error ?? settings.error} />
      {list.isPending ? (
        <Loading what="webhook endpoints" />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty>No webhook endpoints yet.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((w) => (
              <tr key={w.id}>
                <td className="wrap">
                  <Link href={`/developers/webhooks/${w.id}`}>{w.url}</Link>
                </td>
                <td>{w.events.join(', ')}</td>
                <td>{state(w)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="card" onSubmit={submit} noValidate aria-label="Add a webhook endpoint">
        <h3>Add a webhook endpoint</h3>
        <TextField
          label="Endpoint URL"
          name="webhookUrl"
          value={url}
          onChange={setUrl}
          type="url"
          hint="https, on the public internet"
          placeholder="https://example.com/hooks/gatehouse"
          error={errors['url']}
          required
        />
        <CheckList
          legend="Events"
          options={(settings.data?.webhookEvents ?? []).map((e) => ({ value: e, label: e }))}
          chosen={events}
          onChange={setEvents}
          error={errors['events'] ?? errors['events.0']}
        />
        <ErrorMessage error={create.error} />
        <button type="submit" className="primary" disabled={create.isPending}>
          Add endpoint
        </button>
      </form>
    </section>
  );
}

export function PortalWebhookPage({ id }: { id: string }) {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const hook = useQuery({ queryKey: ['portal-webhook', id], queryFn: () => api<PortalWebhook>('GET', `/portal/v1/webhooks/${id}`) });
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const test = useMutation({ mutationFn: () => api<WebhookTest>('POST', `/portal/v1/webhooks/${id}/test`) });
  const changed = async (w?: PortalWebhook) => {
    if (w) client.setQueryData(['portal-webhook', id], w);
    await client.invalidateQueries({ queryKey: ['portal-webhooks'] });
  };
  if (hook.isPending) return <Loading what="the endpoint" />;
  if (hook.isError) return <ErrorMessage error={hook.error} />;
  const w = hook.data;
  return (
    <>
      <h1>Webhook endpoint</h1>
      <p className="wrap">
        <code>{w.url}</code> · {w.events.join(', ')} · {state(w)}
      </p>
      <p>
        <Link href={`/developers/apps/${w.appId ?? ''}`}>Back to the app</Link>
      </p>
      {secret ? <SecretPanel id="rotated-webhook-secret" shown={secret} onDone={() => setSecret(null)} /> : null}
      <div className="actions">
        <button type="button" disabled={test.isPending} onClick={() => test.mutate()}>
          Send a test event
        </button>
        <ConfirmButton
          label="Rotate signing secret"
          danger={false}
          title="Rotate the signing secret?"
          consequence={
            <p>You get a new secret now. Requests carry signatures by both for a while; after that only the new one signs: update your receiver before then.</p>
          }
          onConfirm={async () => {
            const r = await api<PortalWebhookWithSecret>('POST', `/portal/v1/webhooks/${id}/rotate-secret`, {});
            const until = r.secrets[1]?.expiresAt;
            setSecret({
              what: until ? `Secret rotated. The old one signs too until ${new Date(until).toLocaleString()}.` : 'Secret rotated.',
              secret: r.secret,
              kind: 'signing secret',
              kept: SEALED,
            });
            // The endpoint as it is now, without the secret: the query cache outlives the panel that shows it.
            const { secret: _shown, ...endpoint } = r;
            await changed(endpoint);
          }}
        />
        <ConfirmButton
          label={w.enabled ? 'Pause' : 'Resume'}
          danger={false}
          title={w.enabled ? 'Pause this endpoint?' : 'Resume this endpoint?'}
          consequence={
            w.enabled ? (
              <p>
                Gatehouse sends nothing to this URL until you resume it. Events that happen meanwhile are not sent; deliveries already pending wait and go out
                on resume.
              </p>
            ) : (
              <p>Gatehouse sends new events to this URL again, and the deliveries that were waiting.</p>
            )
          }
          onConfirm={async () => changed(await api<PortalWebhook>('PATCH', `/portal/v1/webhooks/${id}`, { enabled: !w.enabled }))}
        />
        <ConfirmButton
          label="Delete"
          title="Delete this webhook endpoint?"
          consequence={<p>Gatehouse stops sending events to this URL, and its delivery log is deleted. This cannot be undone.</p>}
          onConfirm={async () => {
            await api<void>('DELETE', `/portal/v1/webhooks/${id}`);
            await changed();
            navigate(`/developers/apps/${w.appId ?? ''}`);
          }}
        />
      </div>
      <p role="status" aria-live="polite" data-testid="webhook-test-result">
        {test.data
          ? test.data.delivered
            ? `The test event was delivered (HTTP ${test.data.statusCode}, ${test.data.durationMs} ms).`
            : `The test event was not delivered: ${test.data.error ?? `HTTP ${test.data.statusCode}`}.`
          : ''}
      </p>
      <ErrorMessage error={test.error} />
      <h2>Deliveries</h2>
      <DeliveryLog path={`/portal/v1/webhooks/${id}/deliveries`} empty="No events sent yet (test events are not logged here)." />
    </>
  );
}
