import { adminBaseUrl, type AdminClient } from '../admin-client.ts';
import { table, UsageError } from '../output.ts';
import { resolveAll, resolveOptional } from '../resolve.ts';
import { crud, csv, defined, num, readStdin, type Flags, type Verb } from './resources.ts';

/** CLI groups for the authorization server: users, OAuth clients, grants, signing keys. */

const id = (value: string) => encodeURIComponent(value);

/** Passwords come from stdin or GATEHOUSE_USER_PASSWORD, never from argv (which `ps` shows). */
async function password(): Promise<string> {
  const value = process.env.GATEHOUSE_USER_PASSWORD ?? (await readStdin()).replace(/\r?\n$/, '');
  if (!value) throw new UsageError('give the password on stdin (or in GATEHOUSE_USER_PASSWORD)');
  return value;
}

const userFlags = {
  email: { type: 'string' },
  name: { type: 'string' },
  roles: { type: 'string' },
  'mfa-required': { type: 'boolean' },
  'console-role': { type: 'string' },
  data: { type: 'string' },
} as const;
/** `--console-role none` takes the role away (null). */
const consoleRole = (value: unknown) => (value === undefined ? undefined : value === 'none' ? null : value);
const userBody = (_c: AdminClient, f: Flags) =>
  defined({ username: f.email, name: f.name, roles: csv(f.roles), mfaRequired: f['mfa-required'], consoleRole: consoleRole(f['console-role']) });
const userColumns = ['id', 'username', 'name', 'roles', 'consoleRole', 'mfa', 'disabled', 'lastLoginAt'];
/** A user's second factor in a word, as the web app's Users page says it. */
const mfaState = (u: { mfa?: { required?: boolean; enrolled?: boolean } }) =>
  u.mfa?.enrolled ? 'enrolled' : u.mfa?.required ? 'required, not enrolled' : 'off';
/** What a user who must use MFA but has none set up meets at the next sign-in. */
const enrolNext = (u: { mfa?: { required?: boolean; enrolled?: boolean } }) =>
  u.mfa?.required && !u.mfa.enrolled ? '; a second factor is required: they set up TOTP at their next sign-in' : '';

const clientFlags = {
  name: { type: 'string' },
  type: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  grant: { type: 'string', multiple: true },
  scopes: { type: 'string' },
  api: { type: 'string', multiple: true },
  'first-party': { type: 'boolean' },
  dpop: { type: 'boolean' },
  'exchange-app': { type: 'string' },
  'token-ttl': { type: 'string' },
  data: { type: 'string' },
} as const;
/** --api and --exchange-app take names or ids, as everywhere in the CLI. */
const clientBody = async (c: AdminClient, f: Flags) =>
  defined({
    name: f.name,
    type: f.type,
    redirectUris: f['redirect-uri'],
    grantTypes: f.grant,
    scopes: csv(f.scopes),
    apiIds: await resolveAll(c, 'api', f.api),
    firstParty: f['first-party'],
    dpopBound: f.dpop,
    exchangeAppId: await resolveOptional(c, 'app', f['exchange-app']),
    accessTokenTtlSeconds: num('token-ttl', f['token-ttl']),
  });
const secretText = (r: any) =>
  r.secret ? `client ${r.id} (${r.name}). The secret is shown once; store it now:\n${r.secret}` : `client ${r.id} (${r.name}), public: no secret`;

/** `urn:gatehouse:api:orders orders:read; ...`: a grant's scopes for each API it names. */
const withApiScopes = (grant: { resources?: Record<string, string> }) => ({
  ...grant,
  apiScopes:
    Object.entries(grant.resources ?? {})
      .map(([audience, scopes]) => `${audience} ${scopes}`)
      .join('; ') || null,
});

const usersCrud = crud('/users', userColumns, userFlags, userBody);
const clientsCrud = crud('/clients', ['id', 'name', 'type', 'grantTypes', 'disabled'], clientFlags, clientBody);

export const IDENTITY_GROUPS: Record<string, Record<string, Verb>> = {
  users: {
    ...usersCrud,
    list: { ...usersCrud.list!, text: (r) => usersCrud.list!.text!({ ...r, items: r.items.map((u: Record<string, any>) => ({ ...u, mfa: mfaState(u) })) }) },
    update: { ...usersCrud.update!, text: (r) => `updated user ${r.id} (${r.username})${enrolNext(r)}` },
    create: {
      usage: 'create --email E [--name N] [--roles a,b] [--mfa-required] [--console-role admin|operator|auditor|developer] (password on stdin)',
      flags: userFlags,
      run: async (c: AdminClient, _a, f) => c.request('POST', '/users', { ...userBody(c, f), password: await password() }),
      text: (r) => `created user ${r.id} (${r.username})${enrolNext(r)}`,
    },
    'set-password': {
      usage: 'set-password ID (password on stdin; ends the user’s sessions)',
      positionals: 1,
      run: async (c, [user]) => c.request('PATCH', `/users/${id(user!)}`, { password: await password() }),
      text: (r) => `password changed for ${r.id}; their sessions and grants are revoked`,
    },
    disable: {
      usage: 'disable ID',
      positionals: 1,
      run: (c, [user]) => c.request('PATCH', `/users/${id(user!)}`, { disabled: true }),
      text: (r) => `${r.id} is disabled and signed out everywhere`,
    },
    enable: {
      usage: 'enable ID',
      positionals: 1,
      run: (c, [user]) => c.request('PATCH', `/users/${id(user!)}`, { disabled: false }),
      text: (r) => `${r.id} is enabled`,
    },
    invite: {
      usage: 'invite --email E (a single-use sign-up link for the developer portal)',
      flags: { email: { type: 'string' } },
      run: (c, _a, f) => {
        if (typeof f.email !== 'string') throw new UsageError('give --email');
        return c.request('POST', '/portal/invites', { email: f.email });
      },
      text: (r) => `invitation for ${r.email}, single use, valid until ${r.expiresAt}:\n${adminBaseUrl(process.env.GATEHOUSE_URL)}${r.path}`,
    },
    approve: {
      usage: 'approve ID (a developer who signed up, when portal.signup is approval)',
      positionals: 1,
      run: (c, [user]) => c.request('POST', `/users/${id(user!)}/approve`),
      text: (r) => `${r.id} (${r.username}) is approved and may sign in`,
    },
    'set-console-role': {
      usage: 'set-console-role ID admin|operator|auditor|developer|none',
      positionals: 2,
      run: (c, [user, role]) => c.request('PATCH', `/users/${id(user!)}`, { consoleRole: consoleRole(role) }),
      text: (r) => `${r.id}: console role ${r.consoleRole ?? 'none'}${enrolNext(r)}`,
    },
    'reset-mfa': {
      usage: 'reset-mfa ID (a lost or stolen device; ends the user’s sessions and grants)',
      positionals: 1,
      run: (c, [user]) => c.request('POST', `/users/${id(user!)}/mfa/reset`),
      text: (r) => `${r.id}: TOTP and recovery codes removed; their sessions and grants are revoked${enrolNext(r)}`,
    },
  },
  clients: {
    ...clientsCrud,
    create: { ...clientsCrud.create!, text: secretText },
    'rotate-secret': { usage: 'rotate-secret ID', positionals: 1, run: (c, [client]) => c.request('POST', `/clients/${id(client!)}/secret`), text: secretText },
    disable: {
      usage: 'disable ID',
      positionals: 1,
      run: (c, [client]) => c.request('PATCH', `/clients/${id(client!)}`, { disabled: true }),
      text: (r) => `${r.id} is disabled`,
    },
    enable: {
      usage: 'enable ID',
      positionals: 1,
      run: (c, [client]) => c.request('PATCH', `/clients/${id(client!)}`, { disabled: false }),
      text: (r) => `${r.id} is enabled`,
    },
  },
  grants: {
    list: {
      usage: 'list --user ID',
      flags: { user: { type: 'string' } },
      run: (c, _a, f) => {
        if (typeof f.user !== 'string') throw new UsageError('grants list needs --user ID');
        return c.request('GET', `/users/${id(f.user)}/grants`);
      },
      // An API's scopes are kept per API (`resources`), apart from the OpenID scopes: both are shown.
      text: (r) =>
        `grants:\n${table(r.grants.map(withApiScopes), ['id', 'clientId', 'scopes', 'apiScopes', 'expiresAt'])}\nsessions:\n${table(r.sessions, ['id', 'signedInAt', 'amr', 'expiresAt'])}`,
    },
    revoke: {
      usage: 'revoke GRANT_ID',
      positionals: 1,
      run: async (c, [grant]) => (await c.request('DELETE', `/grants/${id(grant!)}`), { revoked: grant }),
      text: (r) => `revoked grant ${r.revoked}`,
    },
    'revoke-user': {
      usage: 'revoke-user USER_ID (every grant and session of the user)',
      positionals: 1,
      run: (c, [user]) => c.request('POST', `/users/${id(user!)}/grants/revoke`),
      text: (r) => `revoked ${r.grants} grants and ended ${r.sessions} sessions`,
    },
  },
  'signing-keys': {
    list: {
      usage: 'list',
      run: (c) => c.request('GET', '/signing-keys'),
      text: (r) => table(r.items, ['id', 'alg', 'state', 'activatesAt', 'retiredAt', 'unpublishAt']),
    },
    rotate: {
      usage: 'rotate [--alg ES256|RS256|EdDSA] [--now]',
      flags: { alg: { type: 'string' }, now: { type: 'boolean' } },
      run: (c, _a, f) => c.request('POST', '/signing-keys/rotate', defined({ alg: f.alg, immediate: f.now })),
      text: (r) => `new ${r.alg} key ${r.id}: published now, signs from ${r.activatesAt}`,
    },
  },
};
