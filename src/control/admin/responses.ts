import { z } from 'zod';
import { KEY_CODES, PROBLEMS, type ProblemCode } from '../../domain/codes.ts';
import { ENVIRONMENTS } from '../../domain/key-format.ts';
import { AUTH_TYPES, PATH_CASES, WHEN_REDIS_UNAVAILABLE } from '../../domain/entities.ts';
import { quotaSchema, rateLimitSchema, rotationRuleSchema } from '../../domain/inputs/resources.ts';

/**
 * The admin API's answers, as zod schemas: the views (services/*View) are typed by them, the OpenAPI
 * document describes them, and test/admin-responses.test.ts parses a real answer of every route with
 * them. Objects are strict, so a field a view adds without saying so here fails that test.
 * Schemas registered here get a name in the document (components/schemas), for client generators.
 */
export const responseRegistry = z.registry<{ id?: string; description: string }>();
export const named = <S extends z.ZodType>(id: string, description: string, schema: S): S => {
  responseRegistry.add(schema, { id, description });
  return schema;
};
/** A description for a field of an answer (the document reads this registry, not zod's global one). */
export const about = <S extends z.ZodType>(description: string, schema: S): S => {
  responseRegistry.add(schema, { description });
  return schema;
};

/** RFC 3339, UTC, as Date.toISOString writes it. */
export const time = z.iso.datetime();
const timestamps = { createdAt: time, updatedAt: time };
const metadata = z.record(z.string(), z.unknown());

export const pageOf = <S extends z.ZodType>(item: S) =>
  z.strictObject({ items: z.array(item), nextCursor: about('pass as `cursor` for the next page; null on the last', z.string().nullable()) });

export const problemSchema = named(
  'Problem',
  'RFC 9457 problem details with a stable `code`',
  z.strictObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]),
    requestId: z.string().nullable(),
    errors: z.array(z.strictObject({ field: z.string(), message: z.string() })).optional(),
  }),
);

const identityLimit = z.strictObject({
  name: z.string(),
  limit: z.number().int(),
  windowSeconds: z.number().optional(),
  period: z.enum(['day', 'month']).optional(),
  by: z.enum(['app', 'user', 'app+user']),
});
const authRule = {
  type: z.enum(AUTH_TYPES),
  scopes: z.array(z.string()),
  roles: z.array(z.string()).optional(),
  rateLimits: z.array(identityLimit).optional(),
};
const apiAuth = z.strictObject({
  ...authRule,
  routes: z
    .array(
      z.strictObject({
        methods: z.array(z.string()).optional(),
        paths: z.array(z.string()).optional(),
        ...authRule,
        type: authRule.type.optional(),
        scopes: authRule.scopes.optional(),
      }),
    )
    .optional(),
});

export const apiResponse = named(
  'Api',
  'A published API',
  z.strictObject({
    id: z.string(),
    name: z.string(),
    listenPath: z.string(),
    upstreamUrl: z.string(),
    auth: apiAuth,
    tokens: z.strictObject({ audience: z.string(), accessTokenTtlSeconds: z.number().int() }),
    mtls: z.boolean().optional(),
    identityJwt: z.boolean().optional(),
    timeoutSeconds: z.number(),
    pathCase: z.enum(PATH_CASES),
    requestLog: about(
      'false: not in the request log; `{ query: true }`: query values kept too (credentials removed)',
      z.union([z.boolean(), z.strictObject({ query: z.boolean() })]),
    ),
    portal: about(
      'The developer portal: listed in its catalogue, and what developers read there',
      z.strictObject({ listed: z.boolean(), description: z.string().nullable() }),
    ),
    whenRedisUnavailable: about(
      'while Redis cannot answer: `local` counts limits in each node (limit ÷ redis.expectedNodes), `fail-closed` refuses; absent: redis.whenUnavailable',
      z.enum(WHEN_REDIS_UNAVAILABLE),
    ).optional(),
    ...timestamps,
  }),
);

export const appResponse = named(
  'App',
  'An app: what API keys are issued to',
  z.strictObject({
    id: z.string(),
    name: z.string(),
    owner: z.string().nullable(),
    /** The developer who made it in the portal (and manages it there); null: made by operators. */
    ownerUserId: z.string().nullable(),
    metadata,
    ...timestamps,
  }),
);

/** Settings a key or policy carries; null on a key means "inherit from the policy". */
const accessRule = z.strictObject({ apiId: z.string(), methods: z.array(z.string()).optional(), paths: z.array(z.string()).optional() });
const settings = {
  access: z.array(accessRule).nullable(),
  rateLimits: z.array(rateLimitSchema).nullable(),
  quota: quotaSchema.nullable(),
  ipAllowlist: z.array(z.string()).nullable(),
  scopes: z.array(z.string()).nullable(),
  /** How often the key's secret should be replaced (docs/rotation.md). */
  rotation: rotationRuleSchema.nullable(),
};
export const settingsResponse = z.strictObject(settings);

export const policyResponse = named(
  'Policy',
  'Access, limits and quota shared by keys',
  z.strictObject({ id: z.string(), name: z.string(), ...settings, ...timestamps }),
);

/** A key as stored, which the audit log records too: never the hash. */
export const keyRecordResponse = z.strictObject({
  id: z.string(),
  appId: z.string(),
  policyId: z.string().nullable(),
  name: z.string(),
  environment: z.enum(ENVIRONMENTS),
  start: about('the first characters of the secret, to recognise it', z.string()),
  enabled: z.boolean(),
  expiresAt: time.nullable(),
  revokedAt: time.nullable(),
  revokedReason: z.string().nullable(),
  exposedAt: time.nullable(),
  certificateThumbprint: z.string().nullable(),
  publishable: z.literal(true).optional(),
  allowedOrigins: z.array(z.string()).optional(),
  rotatedFrom: z.string().nullable(),
  replacedBy: z.string().nullable(),
  /** A rotated key that is revoked (reason "drained") once no request has used it for the quiet period. */
  retireWhenDrained: z.strictObject({ quietPeriodSeconds: z.number().int(), rotatedAt: time }).optional(),
  ...settings,
  metadata,
  ...timestamps,
});

export const keyResponse = named(
  'Key',
  'An API key (never its secret), with its status, quota use and last use',
  keyRecordResponse.extend({
    status: z.enum(['active', 'disabled', 'expired', 'revoked']),
    quota: z
      .strictObject({
        limit: z.number().int(),
        period: z.enum(['day', 'month']),
        inherited: z.boolean(),
        used: z.number().int(),
        remaining: z.number().int(),
        resetsAt: time,
      })
      .nullable(),
    lastUsedAt: time.nullable(),
    /** The client address of the latest use. */
    lastUsedFrom: z.string().nullable(),
    /** When the key's rotation rule (its own, else its policy's) makes it due; null: no rule, or a key no longer in use as itself. */
    rotationDueAt: time.nullable(),
    /** The key is older than its rotation period: rotate it (docs/rotation.md). */
    rotationDue: z.boolean(),
  }),
);

export const newKeyResponse = named('NewKey', 'A key just issued: the secret is in this answer only', keyResponse.extend({ secret: z.string() }));
export const rotatedKeyResponse = named(
  'RotatedKey',
  'The successor (with its secret, shown once) and the key it replaces, which works until its grace period ends',
  newKeyResponse.extend({ previous: keyResponse }),
);

export const verifyCode = named('VerifyCode', 'The outcome of a key check', z.enum(KEY_CODES));
export const verificationResponse = named(
  'Verification',
  'Whether a key may make a request: denials are data, as the gateway decides them',
  z.strictObject({
    valid: z.boolean(),
    code: verifyCode,
    keyId: z.string().nullable(),
    appId: z.string().nullable(),
    expiresAt: time.nullable(),
    ratelimits: z.array(z.strictObject({ name: z.string(), limit: z.number().int(), remaining: z.number().int(), reset: time })),
    quota: z.strictObject({ limit: z.number().int(), remaining: z.number().int(), reset: time }).nullable(),
    retryAfterSeconds: z.number().int().optional(),
  }),
);

export const keyUsageResponse = named(
  'KeyUsage',
  'Requests per UTC day',
  z.strictObject({ keyId: z.string(), days: z.array(z.strictObject({ day: about('a UTC day, YYYY-MM-DD', z.string()), requests: z.number().int() })) }),
);

export const auditEntryResponse = named(
  'AuditEntry',
  'One change or security event: before and after in the admin API’s shapes',
  z.strictObject({
    id: z.string(),
    at: time,
    actor: z.string(),
    /** The person's sign-in name when the actor is a user (`user:<id>`), else null. */
    actorName: z.string().nullable(),
    action: z.string(),
    targetType: z.enum(['api', 'app', 'policy', 'key', 'admin_key', 'user', 'client', 'signing_key', 'grant', 'webhook']),
    targetId: z.string(),
    before: z.unknown(),
    after: z.unknown(),
    requestId: z.string().nullable(),
  }),
);

export const requestRecordResponse = named(
  'RequestRecord',
  'One gateway request, as the request log keeps it',
  z.strictObject({
    at: time,
    requestId: z.string(),
    traceId: z.string().nullable(),
    apiId: z.string().nullable(),
    api: z.string().nullable(),
    route: about('the route template: the listen path and the matching rule pattern', z.string().nullable()),
    method: z.string(),
    path: z.string(),
    query: about('without its `?`: parameter names only, or (opted in) names and values with credentials removed', z.string().nullable()),
    status: z.number().int(),
    denialCode: z.string().nullable(),
    durationMs: z.number(),
    upstreamMs: z.number().nullable(),
    bytesIn: z.number().int(),
    bytesOut: z.number().int(),
    keyId: z.string().nullable(),
    appId: z.string().nullable(),
    user: z.string().nullable(),
    clientId: z.string().nullable(),
    address: z.string(),
    userAgent: z.string().nullable(),
  }),
);

export type ApiView = z.input<typeof apiResponse>;
export type AppView = z.input<typeof appResponse>;
export type PolicyView = z.input<typeof policyResponse>;
export type SettingsView = z.input<typeof settingsResponse>;
export type KeyRecordView = z.input<typeof keyRecordResponse>;
export type KeyView = z.input<typeof keyResponse>;
export type VerificationView = z.input<typeof verificationResponse>;
export type KeyUsageView = z.input<typeof keyUsageResponse>;
export type AuditEntryView = z.input<typeof auditEntryResponse>;
