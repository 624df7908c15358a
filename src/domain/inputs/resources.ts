import { z } from 'zod';
import { pathPatternProblem } from '../access.ts';
import { isCanonicalPath } from '../canonical-path.ts';
import { AUTH_TYPES, PATH_CASES, WHEN_REDIS_UNAVAILABLE } from '../entities.ts';
import { parseCidr } from '../ip-allowlist.ts';
import { patchSchemaOf } from './patch.ts';

/**
 * What a resource may be created or changed with: the one definition the admin API validates
 * requests with (and generates its OpenAPI document from), the config file declares APIs with, and
 * the services take as input. Durations are in seconds; times are RFC 3339 strings.
 */
export const name = z.string().trim().min(1).max(128);
/** Recursion bounded by `limit` itself, so no input can make this overflow the stack. */
const nestsAtMost = (value: unknown, limit: number): boolean =>
  typeof value !== 'object' || value === null || (limit > 0 && Object.values(value).every((v) => nestsAtMost(v, limit - 1)));
const METADATA_DEPTH = 8;
const metadata = z
  .record(z.string().max(64), z.unknown())
  .refine((m) => nestsAtMost(m, METADATA_DEPTH), { message: `metadata nests deeper than ${METADATA_DEPTH} levels`, abort: true })
  .refine((m) => JSON.stringify(m).length <= 8192, 'metadata is larger than 8 KiB');
export const scope = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/, 'a scope is 1-128 visible ASCII characters without " or \\'); // RFC 6749 §3.3
export const scopes = z.array(scope).max(64);
const method = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Where a name can be looked up, for the kinds people name. */
const LOOKUP: Record<string, string> = { api: 'GET /apis?name=NAME', app: 'GET /apps?name=NAME', pol: 'GET /policies?name=NAME' };
/**
 * A reference to another object is its id, never its name: an id is stable when the object is
 * renamed, and app names need not be unique. Names are turned into ids by a lookup (the CLI does
 * this for every --api, --app and --policy flag).
 */
export const id = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9a-f]{28}$`), `not a ${prefix}_ id`)
    .meta({ description: `an id (${prefix}_ and 28 hex digits), never a name${LOOKUP[prefix] ? `; find the id of a name with ${LOOKUP[prefix]}` : ''}` });

/** A route rule's or key limit's path pattern: canonical /segments, "*" for one segment, "**" for the rest. */
const pathPattern = z.string().superRefine((pattern, ctx) => {
  const problem = pathPatternProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: `a path pattern is canonical /segments, "*" for one segment, "**" for the rest: ${problem}` });
});
const pathPatterns = z.array(pathPattern).min(1).max(64);
const roles = z.array(z.string().regex(/^[a-z0-9][a-z0-9:_-]{0,63}$/, 'lower-case letters, digits, ":", "_" and "-"')).max(32);
const identityLimits = z
  .array(
    z
      .strictObject({
        name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lower-case letters, digits and "-"'),
        limit: z.number().int().min(1).max(1_000_000_000),
        windowSeconds: z.number().min(0.001).max(31_536_000).optional(),
        /** A calendar quota instead of a rate: per UTC day or month. */
        period: z.enum(['day', 'month']).optional(),
        by: z.enum(['app', 'user', 'app+user']),
      })
      .refine((l) => (l.windowSeconds === undefined) !== (l.period === undefined), 'give windowSeconds (a rate limit) or period (a quota), not both'),
  )
  .max(8)
  .refine((rules) => new Set(rules.map((r) => r.name)).size === rules.length, 'rate limit names must be unique');
const authRuleSchema = z.strictObject({
  rateLimits: identityLimits.optional(),
  methods: z
    .array(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']))
    .min(1)
    .optional(),
  paths: pathPatterns.optional(),
  type: z.enum(AUTH_TYPES).optional(),
  scopes: z.array(scope).max(64).optional(),
  roles: roles.optional(),
});

/** RFC 8707 §2: a resource indicator is an absolute URI without a fragment. */
export const absoluteUri = z
  .string()
  .max(512)
  .refine((v) => URL.canParse(v) && !v.includes('#') && /^[a-z][a-z0-9+.-]*:/i.test(v), 'an absolute URI without a fragment');

/** Requests are routed on their canonical path, so a listen path must already be canonical: no "." or ".." segments. */
export const listenPathSchema = z
  .string()
  .regex(/^(\/[A-Za-z0-9\-._~]+)+$/, 'a listen path is one or more /segments of letters, digits, "-", ".", "_" or "~"')
  .refine(isCanonicalPath, 'a listen path must be in canonical form: no "." or ".." segments')
  .max(256);

/** An API's fields without defaults: the create schema adds them, the patch schema must not. */
const apiFields = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and "-", starting with a letter or digit'),
  listenPath: listenPathSchema,
  upstreamUrl: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).max(2048),
  auth: z.strictObject({
    type: z.enum(AUTH_TYPES).default('apiKey'),
    scopes: scopes.default([]),
    roles: roles.optional(),
    /** Counted per app, per user, or per both, for every request (a route rule may set its own). */
    rateLimits: identityLimits.optional(),
    /** Route-level differences, first match wins: e.g. GET needs orders:read, POST orders:write. */
    routes: z.array(authRuleSchema).max(64).optional(),
  }),
  timeoutSeconds: z.number().positive().max(600),
  /**
   * `insensitive` when the upstream routes without regard to case (Express by default): route rules
   * and key path limits then match without regard to case, and only ASCII paths are taken.
   */
  pathCase: z.enum(PATH_CASES),
  /** Callers must present a client certificate from the gateway's client CAs (mutual TLS). */
  mtls: z.boolean().optional(),
  /** The upstream also gets `Authorization: Bearer <JWT>` signed by Gatehouse, naming the caller (60 s). */
  identityJwt: z.boolean().optional(),
  /**
   * The request log (default true: logged, query parameter names only): false leaves this API's
   * requests out; `{ query: true }` keeps query values too, with credentials removed.
   */
  requestLog: z.union([z.boolean(), z.strictObject({ query: z.boolean() })]).optional(),
  /**
   * With Redis: while it cannot answer, `local` counts this API's limits in each node (each limit divided
   * by redis.expectedNodes), `fail-closed` refuses its limited and DPoP requests. Absent: redis.whenUnavailable.
   */
  whenRedisUnavailable: z.enum(WHEN_REDIS_UNAVAILABLE).optional(),
};
const accessTokenTtlSeconds = z.number().int().min(60).max(86_400);

export const apiInputSchema = z.strictObject({
  ...apiFields,
  auth: apiFields.auth.default({ type: 'apiKey', scopes: [] }),
  timeoutSeconds: apiFields.timeoutSeconds.default(30),
  pathCase: apiFields.pathCase.default('sensitive'),
  /** Access tokens for this API (RFC 8707): the audience defaults to urn:gatehouse:api:<name>. */
  tokens: z.strictObject({ audience: absoluteUri.optional(), accessTokenTtlSeconds: accessTokenTtlSeconds.default(900) }).optional(),
  /** The developer portal: listed in its catalogue (portal keys may then use it), with a description for developers. */
  portal: z.strictObject({ listed: z.boolean().default(false), description: z.string().trim().max(2000).nullable().default(null) }).optional(),
});
export const apiPatchSchema = patchSchemaOf(apiInputSchema);

const appFields = { name, owner: z.string().max(256).nullable(), metadata };
export const appInputSchema = z.strictObject({ ...appFields, owner: appFields.owner.default(null), metadata: metadata.default({}) });
export const appPatchSchema = patchSchemaOf(appInputSchema);

export const rateLimitSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lower-case letters, digits and "-"'),
  limit: z.number().int().min(1).max(1_000_000_000),
  windowSeconds: z.number().min(0.001).max(31_536_000),
});

export const quotaSchema = z.strictObject({
  limit: z.number().int().min(1).max(1e12),
  period: z.enum(['day', 'month']),
});

export const accessRuleSchema = z.strictObject({
  apiId: id('api'),
  methods: z.array(method).min(1).optional(),
  paths: pathPatterns.optional(),
});

const cidr = z.string().refine((v) => parseCidr(v) !== null, 'an IPv4 or IPv6 address or CIDR block');

/**
 * How often a key's secret should be replaced (domain/rotation.ts): due `periodDays` after the key
 * was made (a successor: after its rotation), announced `noticeDays` before (default 7), and, with
 * `expireAfterGraceDays`, expired that long after it fell due without being rotated.
 */
export const rotationRuleSchema = z
  .strictObject({
    periodDays: z.number().int().min(1).max(3650),
    noticeDays: z.number().int().min(0).max(3650).optional(),
    expireAfterGraceDays: z.number().int().min(1).max(3650).optional(),
  })
  .refine((r) => r.noticeDays === undefined || r.noticeDays <= r.periodDays, { message: 'noticeDays cannot be longer than periodDays', path: ['noticeDays'] });

/** Settings a key or a policy carries; null on a key means "inherit from the policy". */
const settings = {
  access: z.array(accessRuleSchema).max(256).nullable(),
  rateLimits: z
    .array(rateLimitSchema)
    .max(8)
    .refine((rules) => new Set(rules.map((r) => r.name)).size === rules.length, 'rate limit names must be unique')
    .nullable(),
  quota: quotaSchema.nullable(),
  ipAllowlist: z.array(cidr).max(256).nullable(),
  scopes: scopes.nullable(),
  rotation: rotationRuleSchema.nullable(),
};

export const policyInputSchema = z.strictObject({
  name,
  access: settings.access.default(null),
  rateLimits: settings.rateLimits.default(null),
  quota: settings.quota.default(null),
  ipAllowlist: settings.ipAllowlist.default(null),
  scopes: settings.scopes.default(null),
  rotation: settings.rotation.default(null),
});
export const policyPatchSchema = patchSchemaOf(policyInputSchema);

/** An origin as browsers send it (RFC 6454): scheme, host, and port when not the default. */
const origin = z
  .string()
  .max(256)
  .refine((v) => URL.canParse(v) && new URL(v).origin === v, 'an origin such as https://app.example (no path, no trailing slash)');
const thumbprint = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a SHA-256 certificate thumbprint, base64url (43 characters)');
const keyMutable = {
  certificateThumbprint: thumbprint.nullable(),
  allowedOrigins: z.array(origin).max(32),
  name: z.string().trim().max(128),
  policyId: id('pol').nullable(),
  enabled: z.boolean(),
  expiresAt: z.iso.datetime({ offset: true }).nullable(),
  metadata,
  ...settings,
};

export const keyCreateSchema = z.strictObject({
  appId: id('app'),
  /** A publishable key (`gk_pub_`) for browser or mobile code: works only on publishable routes, from these origins. */
  publishable: z.boolean().default(false),
  allowedOrigins: z.array(origin).max(32).optional(),
  /** Bind the key to a client certificate: it then works only over mutual TLS with that certificate. */
  certificateThumbprint: thumbprint.nullable().default(null),
  environment: z.enum(['live', 'test']).default('live'),
  name: keyMutable.name.default(''),
  policyId: keyMutable.policyId.default(null),
  enabled: keyMutable.enabled.default(true),
  expiresAt: keyMutable.expiresAt.optional(),
  expiresInSeconds: z.number().int().min(1).max(315_360_000).optional(),
  metadata: metadata.default({}),
  access: settings.access.default(null),
  rateLimits: settings.rateLimits.default(null),
  quota: settings.quota.default(null),
  ipAllowlist: settings.ipAllowlist.default(null),
  scopes: settings.scopes.default(null),
  rotation: settings.rotation.default(null),
});

export const keyPatchSchema = z
  .strictObject({
    ...keyMutable,
    expiresInSeconds: z.number().int().min(1).max(315_360_000),
  })
  .partial();

/** The longest grace period a rotation may give the old key (30 days): keysService.rotate relies on it. */
export const MAX_ROTATION_GRACE_SECONDS = 2_592_000;

export const keyRotateSchema = z
  .strictObject({
    /** How long the old key keeps working; never beyond its own expiry. 0 ends it at once. With `retire`, the longest it may work. */
    gracePeriodSeconds: z.number().int().min(0).max(MAX_ROTATION_GRACE_SECONDS).default(3600),
    /**
     * `when-drained`: the old key is revoked (reason "drained") as soon as no request has used it for
     * `quietPeriodSeconds`, and at the latest when the grace period ends.
     */
    retire: z.enum(['when-drained']).optional(),
    /** With `retire: when-drained`: how long the old key must go unused (default 600). */
    quietPeriodSeconds: z.number().int().min(1).max(2_592_000).optional(),
  })
  .refine((r) => r.quietPeriodSeconds === undefined || r.retire !== undefined, {
    message: 'quietPeriodSeconds needs retire: "when-drained"',
    path: ['quietPeriodSeconds'],
  });
export type KeyRotateInput = z.output<typeof keyRotateSchema>;

export const keyRevokeSchema = z.strictObject({ reason: z.string().trim().min(1).max(512) });

export const verifyRequestSchema = z.strictObject({
  key: z.string().min(1).max(512),
  api: z.string().min(1).max(128).optional().meta({
    description:
      'the API the key is to be used for, by name or id: a lookup, as a service knows its own API, not a stored reference; its auth scopes are required too',
  }),
  method: method.optional(),
  path: z.string().startsWith('/').max(2048).optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  scopes: scopes.optional(),
  /** false: check everything, limits included, but count nothing (no rate limit, quota or usage). */
  consume: z.boolean().default(true),
});

export type ApiInput = z.output<typeof apiInputSchema>;
export type ApiPatch = z.output<typeof apiPatchSchema>;
export type KeyCreateInput = z.output<typeof keyCreateSchema>;
export type KeyPatchInput = z.output<typeof keyPatchSchema>;
export type VerifyRequest = z.output<typeof verifyRequestSchema>;
export type PolicyInput = z.output<typeof policyInputSchema>;
