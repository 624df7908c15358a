// The developer portal as operators run it: invite a developer by e-mail (the single-use link shown
// once) and approve the sign-ups waiting for it (portal.signup: approval).
import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api } from '../api.ts';
import { useCan } from '../session.tsx';
import type { PortalInvite, User } from '../types.ts';
import { ConfirmButton, ErrorMessage, fieldErrorsOf, SecretOnce, TextField, Time } from '../ui.tsx';
import { Listing } from './admin.tsx';

const USERS = '/admin/v1/users';

export function DevelopersPage() {
  const canWrite = useCan('developers:write');
  return (
    <>
      <h1>Developers</h1>
      <p className="muted">
        Who may use the developer portal. Console roles, MFA and sessions are on the <Link href="/console/users">Users</Link> page.
      </p>
      {canWrite ? <Invite /> : null}
      <section aria-labelledby="waiting">
        <h2 id="waiting">Waiting for approval</h2>
        <Listing<User>
          what="sign-ups waiting for approval"
          path={USERS}
          params={{ pendingApproval: 'true' }}
          empty="Nobody is waiting for approval."
          head={canWrite ? ['Developer', 'Signed up', 'Approve'] : ['Developer', 'Signed up']}
          row={(u) => (
            <tr key={u.id}>
              <td>
                {u.name ? (
                  <>
                    {u.name} <span className="muted">{u.username}</span>
                  </>
                ) : (
                  u.username
                )}
              </td>
              <td>
                <Time at={u.createdAt} />
              </td>
              {canWrite ? (
                <td>
                  <Approve user={u} />
                </td>
              ) : null}
            </tr>
          )}
        />
      </section>
    </>
  );
}

function Invite() {
  const [email, setEmail] = useState('');
  const invite = useMutation({ mutationFn: () => api<PortalInvite>('POST', '/admin/v1/portal/invites', { email }) });
  const errors = fieldErrorsOf(invite.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate();
  };
  return (
    <section className="card" aria-labelledby="invite">
      <h2 id="invite">Invite a developer</h2>
      {invite.data ? (
        <>
          <p>
            Send this link to <strong>{invite.data.email}</strong>. It makes one account for that address and works until <Time at={invite.data.expiresAt} />.
          </p>
          <SecretOnce secret={`${location.origin}${invite.data.path}`} what="invitation link" lost="invite the address again" />
          <button
            type="button"
            onClick={() => {
              setEmail('');
              invite.reset();
            }}
          >
            Invite another
          </button>
        </>
      ) : (
        <form onSubmit={submit} noValidate aria-label="Invite a developer">
          <TextField label="E-mail address" name="email" type="email" value={email} onChange={setEmail} error={errors['email']} required />
          <ErrorMessage error={invite.error} />
          <button type="submit" className="primary" disabled={invite.isPending}>
            Invite
          </button>
        </form>
      )}
    </section>
  );
}

function Approve({ user }: { user: User }) {
  const client = useQueryClient();
  return (
    <ConfirmButton
      label="Approve"
      danger={false}
      title={`Approve ${user.username}?`}
      consequence={<p>They can sign in to the developer portal from now on, and make apps and keys within the portal’s limits.</p>}
      onConfirm={async () => {
        await api<User>('POST', `${USERS}/${user.id}/approve`);
        await client.invalidateQueries({ queryKey: [USERS] });
      }}
    />
  );
}
