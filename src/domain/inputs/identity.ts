import { z } from 'zod';
import { CONSOLE_ROLES } from '../console-roles.ts';
import { OAUTH_GRANT_TYPES } from '../entities.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../password-hash.ts';
import { id, name, scopes } from './resources.ts';

/** Request schemas for users, OAuth clients and signing keys. */
const role = z.string().regex(/^[a-z0-9][a-z0-9:_-]{0,63}$/, 'lower-case letters, digits, ":", "_" and "-"');
const consoleRole = z.enum(CONSOLE_ROLES);
const password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `at most ${PASSWORD_MAX_LENGTH} characters`);

/**
 * A sign-in name: an e-mail address in ASCII, stored lower-case. The stores compare names without
 * regard to ASCII case only (SQLite's NOCASE; lower() under "C" on PostgreSQL): Unicode case folding
 * differs by engine and locale, so names outside ASCII are refused here, not left to the store.
 */
export const usernameSchema = z
  .email()
  .max(320)
  .regex(/^[\x21-\x7e]+$/, 'an e-mail address in ASCII characters')
  .transform((e) => e.toLowerCase());

export const userInputSchema = z.strictObject({
  username: usernameSchema,
  name: z.string().trim().max(128).nullable().default(null),
  password,
  roles: z.array(role).max(32).default([]),
  mfaRequired: z.boolean().default(false),
  /** The web app's role (domain/console-roles.ts); null: the user cannot use the console or portal. */
  consoleRole: consoleRole.nullable().default(null),
});

export const userPatchSchema = z
  .strictObject({
    name: z.string().trim().max(128).nullable(),
    password,
    roles: z.array(role).max(32),
    disabled: z.boolean(),
    mfaRequired: z.boolean(),
    consoleRole: consoleRole.nullable(),
  })
  .partial();

/** RFC 6749 §3.1.2: absolute, no fragment; https, or http only for loopback (RFC 8252 §7.3). */
const redirectUri = z
  .string()
  .max(2048)
  .refine((v) => {
    if (!URL.canParse(v) || v.includes('#')) return false;
    const url = new URL(v);
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  }, 'an https:// URL (http:// only for 127.0.0.1, [::1] or localhost), without a fragment');

const clientFields = {
  name,
  redirectUris: z.array(redirectUri).max(32),
  postLogoutRedirectUris: z.array(redirectUri).max(32),
  grantTypes: z.array(z.enum(OAUTH_GRANT_TYPES)).min(1).max(OAUTH_GRANT_TYPES.length),
  scopes,
  apiIds: z.array(id('api')).max(64),
  firstParty: z.boolean(),
  dpopBound: z.boolean(),
  exchangeAppId: id('app').nullable(),
  accessTokenTtlSeconds: z.number().int().min(60).max(86_400).nullable(),
};

export const clientInputSchema = z.strictObject({
  name,
  type: z.enum(['confidential', 'public']).default('confidential'),
  redirectUris: clientFields.redirectUris.default([]),
  postLogoutRedirectUris: clientFields.postLogoutRedirectUris.default([]),
  grantTypes: clientFields.grantTypes.default(['authorization_code', 'refresh_token']),
  scopes: scopes.default([]),
  apiIds: clientFields.apiIds.default([]),
  firstParty: z.boolean().default(false),
  dpopBound: z.boolean().default(false),
  exchangeAppId: clientFields.exchangeAppId.default(null),
  accessTokenTtlSeconds: clientFields.accessTokenTtlSeconds.default(null),
});

export const clientPatchSchema = z.strictObject({ ...clientFields, disabled: z.boolean() }).partial();

export const signingKeyRotateSchema = z.strictObject({
  alg: z.enum(['ES256', 'RS256', 'EdDSA']).optional(),
  /** Sign with the new key at once (a key believed compromised), without the publish lead. */
  immediate: z.boolean().default(false),
});
