// An app's OAuth clients in the portal: register one (a confidential client's secret shown once),
// rotate its secret, delete it. What may be chosen is what the operator allows (GET /portal/v1/settings).
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Page } from '../api.ts';
import { ConfirmButton, Empty, ErrorMessage, fieldErrorsOf, Loading, SelectField, TextField, Time } from '../ui.tsx';
import { CatalogueChecks, CheckList, SecretPanel, type ShownSecret } from './parts.tsx';
import { settingsQuery, type PortalClient, type PortalClientWithSecret } from './portal-types.ts';

const GRANT_LABELS: Record<string, string> = {
  authorization_code: 'Authorization code (users sign in)',
  refresh_token: 'Refresh tokens',
  client_credentials: 'Client credentials (your server, no user)',
  'urn:ietf:params:oauth:grant-type:device_code': 'Device code (TVs, command lines)',
  'urn:ietf:params:oauth:grant-type:token-exchange': 'Token exchange (this app’s API keys for tokens)',
};

/** Words separated by spaces, commas or new lines. */
const words = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

export function AppClients({ appId }: { appId: string }) {
  const client = useQueryClient();
  const queryKey = ['portal-clients', appId];
  const list = useQuery({ queryKey, queryFn: () => api<Page<PortalClient>>('GET', `/portal/v1/apps/${appId}/clients`) });
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey });
  const shown = (what: string, s: string): ShownSecret => ({ what, secret: s, kind: 'client secret' });
  return (
    <section aria-labelledby="my-clients">
      <h2 id="my-clients">OAuth clients</h2>
      <p>Register a client when your app gets access tokens from Gatehouse instead of sending an API key.</p>
      {secret ? <SecretPanel id="new-client-secret" shown={secret} onDone={() => setSecret(null)} /> : null}
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <Loading what="OAuth clients" />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty>No OAuth clients yet.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">Type</th>
              <th scope="col">Grants</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((c) => (
              <tr key={c.id}>
                <td>
                  {c.name} <code>{c.id}</code>
                </td>
                <td>{c.type}</td>
                <td>{c.grantTypes.join(', ')}</td>
                <td>
                  <Time at={c.createdAt} />
                </td>
                <td className="actions">
                  {c.type === 'confidential' ? (
                    <ConfirmButton
                      label="Rotate secret"
                      danger={false}
                      title={`Rotate the secret of ${c.name}?`}
                      consequence={
                        <p>You get a new secret now, and the current one stops working at once: your app gets no tokens until it uses the new one.</p>
                      }
                      onConfirm={async () => {
                        const r = await api<PortalClientWithSecret>('POST', `/portal/v1/clients/${c.id}/rotate-secret`);
                        if (r.secret) setSecret(shown(`Secret of ${c.name} rotated.`, r.secret));
                        await refresh();
                      }}
                    />
                  ) : null}
                  <ConfirmButton
                    label="Delete"
                    title={`Delete ${c.name}?`}
                    consequence={
                      <p>Your app can no longer get or refresh tokens with this client. Tokens already issued work until they expire. This cannot be undone.</p>
                    }
                    onConfirm={async () => {
                      await api<void>('DELETE', `/portal/v1/clients/${c.id}`);
                      await refresh();
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <NewClientForm
        appId={appId}
        onCreated={async (c) => {
          if (c.secret) setSecret(shown(`Client ${c.name} registered.`, c.secret));
          await refresh();
        }}
      />
    </section>
  );
}

function NewClientForm({ appId, onCreated }: { appId: string; onCreated: (c: PortalClientWithSecret) => Promise<void> }) {
  const settings = useQuery(settingsQuery);
  const [name, setName] = useState('');
  const [type, setType] = useState('confidential');
  const [grantTypes, setGrantTypes] = useState<string[]>([]);
  const [redirectUris, setRedirectUris] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [apiIds, setApiIds] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: () =>
      api<PortalClientWithSecret>('POST', `/portal/v1/apps/${appId}/clients`, {
        name,
        type,
        grantTypes,
        redirectUris: words(redirectUris),
        scopes,
        ...(apiIds.length ? { apiIds } : {}),
      }),
    onSuccess: async (c) => {
      setName('');
      setRedirectUris('');
      await onCreated(c);
    },
  });
  const errors = fieldErrorsOf(create.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form className="card" onSubmit={submit} noValidate aria-label="Register an OAuth client">
      <h3>Register an OAuth client</h3>
      <TextField label="Client name" name="clientName" value={name} onChange={setName} error={errors['name']} required />
      <SelectField
        label="Client type"
        name="clientType"
        value={type}
        onChange={setType}
        options={[
          { value: 'confidential', label: 'Confidential (runs on a server, keeps a secret)' },
          { value: 'public', label: 'Public (browser or mobile app, no secret)' },
        ]}
        error={errors['type']}
      />
      <CheckList
        legend="Grant types"
        options={(settings.data?.clientGrantTypes ?? []).map((g) => ({ value: g, label: GRANT_LABELS[g] ?? g }))}
        chosen={grantTypes}
        onChange={setGrantTypes}
        error={errors['grantTypes']}
      />
      <TextField
        label="Redirect URIs"
        name="redirectUris"
        value={redirectUris}
        onChange={setRedirectUris}
        hint="Where users come back after signing in (authorization code only), separated by spaces"
        error={errors['redirectUris'] ?? errors['redirectUris.0']}
      />
      {settings.data?.clientScopes.length ? (
        <CheckList
          legend="Scopes"
          options={settings.data.clientScopes.map((s) => ({ value: s, label: s }))}
          chosen={scopes}
          onChange={setScopes}
          error={errors['scopes']}
        />
      ) : null}
      <CatalogueChecks chosen={apiIds} onChange={setApiIds} error={errors['apiIds']} />
      <ErrorMessage error={create.error ?? settings.error} />
      <button type="submit" className="primary" disabled={create.isPending}>
        Register client
      </button>
    </form>
  );
}
