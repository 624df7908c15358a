// Developer sign-up (POST /bff/signup): invite-only by default (the invite code comes in the link),
// open, or open with an operator's approval, as the operator configured.
import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { Link, useSearch } from 'wouter';
import { api } from '../api.ts';
import { ErrorMessage, fieldErrorsOf, TextField } from '../ui.tsx';

interface SignUpAnswer {
  status?: 'active' | 'pending' | string;
  message?: string;
}

export function SignUp() {
  const search = new URLSearchParams(useSearch());
  const [form, setForm] = useState({ username: '', name: '', password: '', invite: search.get('invite') ?? '' });
  const set = (k: keyof typeof form) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  const signUp = useMutation({
    mutationFn: () =>
      api<SignUpAnswer>(
        'POST',
        '/bff/signup',
        { username: form.username, name: form.name || undefined, password: form.password, invite: form.invite || undefined },
        { allow401: true },
      ),
  });
  const errors = fieldErrorsOf(signUp.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signUp.mutate();
  };
  return (
    <main id="main" className="signin">
      <h1>Create a developer account</h1>
      {signUp.isSuccess ? (
        <div role="status">
          <p>{signUp.data?.message ?? (signUp.data?.status === 'pending' ? 'Your account waits for an operator to approve it.' : 'Your account is ready.')}</p>
          <p>
            <a className="button primary" href="/bff/login?returnTo=%2Fdevelopers%2F">
              Sign in
            </a>
          </p>
        </div>
      ) : (
        <form onSubmit={submit} noValidate aria-label="Create a developer account">
          <TextField
            label="Email"
            name="username"
            type="email"
            autoComplete="username"
            value={form.username}
            onChange={set('username')}
            error={errors['username']}
            required
          />
          <TextField label="Your name" name="name" autoComplete="name" value={form.name} onChange={set('name')} error={errors['name']} />
          <TextField
            label="Password"
            name="password"
            type="password"
            autoComplete="new-password"
            value={form.password}
            onChange={set('password')}
            error={errors['password']}
            hint="At least 10 characters"
            required
          />
          <TextField
            label="Invite code"
            name="invite"
            value={form.invite}
            onChange={set('invite')}
            error={errors['invite']}
            hint="From your invitation link, if you have one"
          />
          <ErrorMessage error={signUp.error} />
          <button type="submit" className="primary" disabled={signUp.isPending}>
            Create account
          </button>
        </form>
      )}
      <p>
        Already have an account? <Link href="/developers/">Sign in</Link>.
      </p>
    </main>
  );
}
