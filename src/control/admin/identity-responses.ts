import { z } from 'zod';
import { CONSOLE_ROLES } from '../../domain/console-roles.ts';
import { OAUTH_GRANT_TYPES } from '../../domain/entities.ts';
import { named, time } from './responses.ts';

/** Answers about users, their grants, OAuth clients and signing keys (see responses.ts). */
const timestamps = { createdAt: time, updatedAt: time };

export const userResponse = named(
  'User',
  'A person who signs in (never the password hash or TOTP secret)',
  z.strictObject({
    id: z.string(),
    username: z.string(),
    name: z.string().nullable(),
    roles: z.array(z.string()),
    disabled: z.boolean(),
    mfaRequired: z.boolean(),
    consoleRole: z.enum(CONSOLE_ROLES).nullable(),
    pendingApproval: z.boolean(),
    /** required: whether this user must pass a second factor now (mfaRequired, a role, or their console role under authorization.mfaRequiredConsoleRoles). */
    mfa: z.strictObject({ required: z.boolean(), enrolled: z.boolean(), recoveryCodesLeft: z.number().int() }),
    ...timestamps,
    lastLoginAt: time.nullable(),
  }),
);

export const userGrantsResponse = named(
  'UserGrants',
  'What a user allowed each client (grants), and where they are signed in (sessions)',
  z.strictObject({
    grants: z.array(
      z.strictObject({
        id: z.string(),
        clientId: z.string(),
        scopes: z.array(z.string()),
        resources: z.record(z.string(), z.string()),
        expiresAt: time.nullable(),
      }),
    ),
    sessions: z.array(z.strictObject({ id: z.string(), signedInAt: time.nullable(), amr: z.array(z.string()), expiresAt: time.nullable() })),
  }),
);

export const revokedCountResponse = named(
  'RevokedCount',
  'How many grants were revoked and sessions ended',
  z.strictObject({ grants: z.number().int(), sessions: z.number().int() }),
);

export const clientResponse = named(
  'Client',
  'An OAuth 2.0 client (never its secret)',
  z.strictObject({
    id: z.string(),
    name: z.string(),
    type: z.enum(['confidential', 'public']),
    redirectUris: z.array(z.string()),
    postLogoutRedirectUris: z.array(z.string()),
    grantTypes: z.array(z.enum(OAUTH_GRANT_TYPES)),
    scopes: z.array(z.string()),
    apiIds: z.array(z.string()),
    firstParty: z.boolean(),
    dpopBound: z.boolean(),
    exchangeAppId: z.string().nullable(),
    accessTokenTtlSeconds: z.number().int().nullable(),
    disabled: z.boolean(),
    /** The developer's app it was registered for in the portal; null: an operator's client. */
    appId: z.string().nullable(),
    ...timestamps,
  }),
);

export const newClientResponse = named(
  'NewClient',
  'A client just registered: a confidential client’s secret is in this answer only; a public client has none',
  clientResponse.extend({ secret: z.string().optional() }),
);
export const clientSecretResponse = named('ClientWithSecret', 'A client with its new secret, shown once', clientResponse.extend({ secret: z.string() }));

export const signingKeyResponse = named(
  'SigningKey',
  'A token-signing key: its public JWK and its schedule (never the private key)',
  z.strictObject({
    id: z.string(),
    alg: z.enum(['ES256', 'RS256', 'EdDSA']),
    publicJwk: z.record(z.string(), z.unknown()),
    state: z.enum(['next', 'active', 'retired', 'unpublished']),
    activatesAt: time,
    retiredAt: time.nullable(),
    unpublishAt: time.nullable(),
    ...timestamps,
  }),
);
export const signingKeyListResponse = z.strictObject({ items: z.array(signingKeyResponse) });

export type UserView = z.input<typeof userResponse>;
export type UserGrantsView = z.input<typeof userGrantsResponse>;
export type ClientView = z.input<typeof clientResponse>;
export type SigningKeyView = z.input<typeof signingKeyResponse>;
