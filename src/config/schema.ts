import { createPublicKey } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { apiInputSchema, scopes } from '../domain/inputs/resources.ts';
import { ASYMMETRIC_ALGORITHMS } from '../domain/access-token-claims.ts';
import { parseCidr } from '../domain/ip-allowlist.ts';
import { billingTimeZoneProblem } from '../domain/billing-period.ts';
import { DEFAULT_EXPOSURE_POLICY, EXPOSURE_ACTIONS } from '../domain/exposure-policy.ts';
import { OAUTH_GRANT_TYPES } from '../domain/entities.ts';
import { CONSOLE_ROLES, MFA_CONSOLE_ROLES_BY_DEFAULT } from '../domain/console-roles.ts';
import { DEFAULT_CONNECTION_LIMITS as LIMITS } from '../http/connection-limits.ts';

/** A DNS name (`_` allowed for service names), an IPv4 address or a bracketed IPv6 one, and an optional port. */
const PUBLIC_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * Where clients reach the HTTPS gateway (host, and port when given): `gateway.publicHost`, else the
 * listen host when it names one address; null when the gateway listens on every address.
 */
export function gatewayPublicHost(gateway: { host: string; publicHost?: string | undefined }): string | null {
  if (gateway.publicHost !== undefined) return gateway.publicHost;
  if (WILDCARD_HOSTS.has(gateway.host)) return null;
  return gateway.host.includes(':') && !gateway.host.startsWith('[') ? `[${gateway.host}]` : gateway.host;
}

/** What a `gatehouse start` process runs (node.role). */
export const NODE_ROLES = ['all', 'control', 'gateway'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** A switch: true or false in YAML, and "true"/"false" (or 1/0, yes/no, on/off) in a GATEHOUSE_* variable. */
const flag = (fallback: boolean) => z.union([z.boolean(), z.stringbool()]).default(fallback);

/**
 * A listener's address and what one client may take of it (http/connection-limits.ts): the same
 * settings and defaults for the gateway and the control plane, which serves sign-in pages to the world.
 */
const listener = (port: number) =>
  z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(port),
    /** Largest request head read (bytes); larger gets 431. */
    maxHeaderBytes: z.coerce.number().int().min(1024).max(1_048_576).default(LIMITS.maxHeaderBytes),
    /** Whole request (head and body) from the client. */
    requestTimeoutSeconds: z.coerce
      .number()
      .min(1)
      .max(3600)
      .default(LIMITS.requestMs / 1000),
    headersTimeoutSeconds: z.coerce
      .number()
      .min(1)
      .max(600)
      .default(LIMITS.headersMs / 1000),
    /** An idle keep-alive connection is closed after this long. */
    keepAliveTimeoutSeconds: z.coerce
      .number()
      .min(1)
      .max(600)
      .default(LIMITS.keepAliveMs / 1000),
    /** Open client connections at most, per thread serving the listener (each gateway worker has this many); more are refused at accept. */
    maxConnections: z.coerce.number().int().min(1).default(LIMITS.maxConnections),
  });

/** Node refuses a headers timeout longer than the request's (which covers the head as well) when the server is made. */
const headsWithinRequests = (l: { headersTimeoutSeconds: number; requestTimeoutSeconds: number }): boolean =>
  l.headersTimeoutSeconds <= l.requestTimeoutSeconds;
/**
 * Whether a URL setting holds no password in its userinfo (and passes `more`). One no parser reads is
 * left to `.url()`'s "Invalid URL": zod runs a refinement on a value its other checks refused, and
 * `new URL` would throw out of the parse, a TypeError carrying the whole input (password and all, as
 * `input`) instead of a ConfigError naming the setting.
 */
function withoutPassword(text: string, more: (url: URL) => boolean = () => true): boolean {
  const url = URL.parse(text);
  return url === null || (url.password === '' && more(url));
}

/**
 * Whether a URL setting holds no user name nor password (userinfo, RFC 3986 §3.2.1). The issuer is
 * published (the discovery document, every token's `iss`, redirects and sign-in pages): a credential in
 * it would go to every client. The URLs Gatehouse fetches (an issuer's discovery document, keys and
 * introspection endpoint, GitHub's keys) cannot hold one either: fetch() refuses such a URL, so the
 * setting could only fail later, and it is logged as it is. Their credentials have their own settings.
 * (The OTLP endpoint is left out: its exporter sends userinfo as Basic authentication, a supported way to
 * reach a collector, and tracing.ts keeps it out of the log.) An unparseable one is left to `.url()`,
 * as for withoutPassword.
 */
function withoutUserinfo(text: string): boolean {
  const url = URL.parse(text);
  return url === null || (url.username === '' && url.password === '');
}

/** A URL Gatehouse fetches: no credential in it (withoutUserinfo). */
const fetchedUrl = (where: string) =>
  z.url({ protocol: /^https?$/ }).refine(withoutUserinfo, `must not hold a user name or password: fetch() refuses it, and it is logged as it is (${where})`);

const HEADS_WITHIN_REQUESTS = { message: 'must be at most requestTimeoutSeconds', path: ['headersTimeoutSeconds'] };

/** One schema for the YAML file and GATEHOUSE_* variables; parsed once at start, then frozen. */
export const configSchema = z.strictObject({
  gateway: listener(8080)
    .extend({
      /** Proxies in front whose X-Forwarded-For and X-Forwarded-Proto are believed (CIDRs); none by default. */
      trustedProxies: z.array(z.string().refine((v) => parseCidr(v) !== null, 'an IPv4 or IPv6 address or CIDR block')).default([]),
      /** HTTPS for the gateway listener: certificate chain and key files, reloaded when they change. */
      tls: z
        .strictObject({
          certFile: z.string().min(1),
          keyFile: z.string().min(1),
          /** CAs for client certificates (mutual TLS, per API). */
          clientCaFile: z.string().min(1).optional(),
        })
        .optional(),
      /** With tls: a plain-HTTP listener that only redirects to HTTPS (and refuses credentials). */
      httpRedirectPort: z.coerce.number().int().min(0).max(65535).optional(),
      /**
       * The host (and port, when not the listener's) clients reach the HTTPS gateway at, e.g.
       * `api.example.com`: where the redirect listener sends them, whatever Host they sent. Default:
       * `host`, unless that is a wildcard (0.0.0.0, ::), which then needs this set.
       */
      publicHost: z.string().regex(PUBLIC_HOST, 'a host name or IP address, with an optional :port (no scheme or path)').optional(),
      /** Strict-Transport-Security max-age on HTTPS answers (RFC 6797); 0 sends none. */
      hstsMaxAgeSeconds: z.coerce.number().int().min(0).default(31_536_000),
      /**
       * `refuse` (default): a request over plain HTTP that carries a credential is answered 403 and never
       * forwarded, and an API key in it is flagged as exposed. `allow` is for development only.
       */
      plaintextCredentials: z.enum(['refuse', 'allow']).default('refuse'),
      /** Largest request body forwarded (bytes); larger ones get 413. */
      maxBodyBytes: z.coerce
        .number()
        .int()
        .min(0)
        .default(10 * 1024 * 1024),
      /**
       * `/livez` and `/readyz` on the gateway listener too, answered before routing, without credentials,
       * exactly those two paths. false: they are routed like any path (an API published at /livez gets them).
       */
      healthPaths: flag(true),
      /**
       * Threads serving the gateway: 1 serves it on the main thread beside the control plane (as before
       * workers existed); more start that many worker threads sharing the listening port (SO_REUSEPORT),
       * with limits, the failure throttle and the DPoP replay set in shared memory. Default: the cores.
       */
      workers: z.coerce
        .number()
        .int()
        .min(1)
        .max(256)
        .default(() => availableParallelism()),
      /**
       * With workers > 1: counters the shared table holds (rate limits, quotas, throttled addresses,
       * DPoP proofs), 24 bytes each, allocated at start; a new counter that finds no room is refused.
       */
      sharedTableEntries: z.coerce.number().int().min(1024).max(67_108_864).default(1_048_576),
      /**
       * With workers > 1: each worker's V8 young generation at most, MB (0: V8's own sizing, which on a
       * large machine lets every thread's grow to 128 MB under load). See docs/deployment.md, "Sizing".
       */
      workerYoungGenerationMb: z.coerce.number().int().min(0).max(4096).default(24),
      /**
       * How far V8 lets each thread's old generation grow past what its last full collection kept, in
       * percent, before collecting it again (0: V8's own factor, which grows with the collector's speed
       * and let a heap holding 100 MB of hot keys reach two to four times that). Lower holds RSS nearer
       * the live data at the cost of more full collections: 30 cut the peak by 59 and 130 MB with
       * 100,000 hot keys at no CPU cost the host let us see (docs/benchmarks.md, "fifteenth look").
       * For the whole process (V8's flags are per process); a `--heap-growing-percent` given to Node wins.
       */
      heapGrowthPercent: z.coerce.number().int().min(0).max(1000).default(30),
      /**
       * On stop (SIGTERM, SIGINT): the gateway stops taking connections at once, closes each open one
       * as soon as its answer is over, and cuts what is still busy after this long (0: cuts at once).
       * Every request taken is counted and recorded either way before the last flush.
       */
      shutdownGraceSeconds: z.coerce.number().min(0).max(3600).default(10),
    })
    .refine(headsWithinRequests, HEADS_WITHIN_REQUESTS)
    .prefault({}),
  control: listener(8081)
    .extend({
      /** HTTPS for the control plane; without it, credentials are taken only from this machine (loopback). */
      tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
    })
    .refine(headsWithinRequests, HEADS_WITHIN_REQUESTS)
    .prefault({}),
  /** What this process runs (docs/deployment.md, "Node roles"); `gatehouse start --role` overrides it. */
  node: z
    .strictObject({
      /**
       * `all` (default): gateway and control plane in one process. `gateway`: the data plane only, with
       * /livez, /readyz and /metrics on the control listener (no admin API, no authorization server, no
       * background task that must run once). `control`: admin API, authorization server, webhooks,
       * rotation and the other once-per-deployment tasks; no gateway listener.
       */
      role: z.enum(NODE_ROLES).default('all'),
      /**
       * A gateway node on the embedded SQLite store is refused unless every node of the deployment runs
       * on this one machine and shares the file (a gateway process beside a control process): a SQLite
       * file cannot be shared by nodes on other machines. Set true to say so.
       */
      singleMachine: flag(false),
    })
    .prefault({}),
  dataDir: z.string().min(1).default('./.gatehouse'),
  store: z
    .strictObject({
      /** sqlite: the embedded store (one machine); postgres: the shared store for several nodes (docs/deployment.md). */
      driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
      /** SQLite: the database file. Defaults to <dataDir>/gatehouse.db. */
      path: z.string().min(1).optional(),
      /** SQLite: how long a write waits for another writer's lock before it fails with 503 STORAGE_UNAVAILABLE. */
      busyTimeoutMs: z.coerce.number().int().min(0).max(60_000).default(5000),
      /**
       * PostgreSQL: a connection URL without its password (postgres://gatehouse@db:5432/gatehouse?sslmode=verify-full).
       * The password comes from store.passwordFile, GATEHOUSE_STORE_PASSWORD or PGPASSWORD.
       */
      url: z
        .url({ protocol: /^postgres(ql)?$/ })
        // Nor as ?password=, which the driver reads too (over the userinfo, so over store.passwordFile).
        .refine(
          (u) => withoutPassword(u, (url) => !url.searchParams.has('password')),
          'must not hold the password: put it in store.passwordFile or GATEHOUSE_STORE_PASSWORD',
        )
        .optional(),
      passwordFile: z.string().min(1).optional(),
      /** PostgreSQL: connections each process keeps at most. */
      maxConnections: z.coerce.number().int().min(1).max(1000).default(10),
      /** PostgreSQL: a statement running longer is cancelled by the server (and fails with 503). */
      statementTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(5000),
      /** PostgreSQL: how long to wait for a connection. */
      connectTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(5000),
    })
    .refine((s) => s.driver !== 'postgres' || s.url !== undefined, { message: 'store.driver postgres needs store.url', path: ['url'] })
    .prefault({}),
  secrets: z
    .strictObject({
      /** Files holding the secrets; the values themselves never belong in this file. */
      pepperFile: z.string().min(1).optional(),
      previousPeppersFile: z.string().min(1).optional(),
      masterKeyFile: z.string().min(1).optional(),
    })
    .prefault({}),
  cache: z
    .strictObject({
      keyEntries: z.coerce.number().int().min(1).default(100_000),
      keyTtlSeconds: z.coerce.number().min(0.001).default(60),
      negativeTtlSeconds: z.coerce.number().min(0.001).default(10),
      /**
       * While the store cannot be reached, a cached key past its lifetime keeps answering for at most
       * this long after it expired (degraded mode: the last known configuration); a change already
       * seen on the change feed (a revocation) still drops it at once. 0: never served stale.
       */
      serveStaleSeconds: z.coerce.number().min(0).max(86_400).default(300),
    })
    .prefault({}),
  redis: z
    .strictObject({
      /**
       * redis://host:6379/0 or rediss:// (TLS), without the password (redis.passwordFile or
       * GATEHOUSE_REDIS_PASSWORD). Unset: limits, quotas and the change doorbell stay in this process.
       */
      url: z
        .url({ protocol: /^rediss?$/ })
        .refine((u) => withoutPassword(u), 'must not hold the password: put it in redis.passwordFile or GATEHOUSE_REDIS_PASSWORD')
        .optional(),
      /** An ACL user (Redis 6+); its password is the one from passwordFile. */
      username: z.string().min(1).optional(),
      passwordFile: z.string().min(1).optional(),
      /** Sentinel: the sentinels' addresses (host:port) and the monitored master's name; url then names no host. */
      sentinels: z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port')).default([]),
      sentinelMaster: z.string().min(1).optional(),
      /** A file of CA certificates to trust for rediss:// (besides the system's). */
      caFile: z.string().min(1).optional(),
      /** A limiter call waiting longer than this fails, and whenUnavailable applies to it. */
      commandTimeoutMs: z.coerce.number().int().min(10).max(10_000).default(250),
      /**
       * What the gateway does with rate limits and quotas while Redis cannot be reached: `local` counts
       * them in this node (each limit divided by expectedNodes), `fail-closed` refuses every limited
       * request (429 with Retry-After) and every DPoP request until Redis is back. The default for APIs
       * without their own `whenRedisUnavailable`. The failure throttle always counts locally meanwhile.
       */
      whenUnavailable: z.enum(['local', 'fail-closed']).default('local'),
      expectedNodes: z.coerce.number().int().min(1).max(1000).default(1),
    })
    .refine((r) => r.sentinels.length === 0 || r.sentinelMaster !== undefined, {
      message: 'redis.sentinels need redis.sentinelMaster',
      path: ['sentinelMaster'],
    })
    .prefault({}),
  changes: z
    .strictObject({
      /**
       * How often a node reads the store for changes made elsewhere (other nodes, other processes on the
       * same file): the bound on how long another node's caches may answer with what was changed. 0: never.
       */
      pollIntervalSeconds: z.coerce.number().min(0).max(3600).default(1),
    })
    .prefault({}),
  usage: z
    .strictObject({
      /** At most an hour, as analytics.flushIntervalSeconds: past 2^31 ms (about 25 days) Node's timer would fire every millisecond. */
      flushIntervalSeconds: z.coerce.number().min(0.01).max(3600).default(5),
    })
    .prefault({}),
  /** Where each key is used from (docs/observability/key-addresses.md): per key and client address, first and last seen, requests. */
  keyAddresses: z
    .strictObject({
      /** Addresses counted per key between usage flushes and kept per key in the store; uses from more count as "other addresses". */
      perKey: z.coerce.number().int().min(1).max(100_000).default(1000),
      /** An address not seen for this many days is deleted (checked every hour). */
      retentionDays: z.coerce.number().int().min(1).max(3650).default(90),
    })
    .prefault({}),
  /**
   * What is done to a key whose secret was seen exposed (plain HTTP, a query string, the scanner, a
   * code host's secret scanning, an operator), per environment: flag, disable, or revoke-and-replace.
   * The defaults and why: domain/exposure-policy.ts, docs/incident-response.md.
   */
  exposure: z
    .strictObject({
      live: z.enum(EXPOSURE_ACTIONS).default(DEFAULT_EXPOSURE_POLICY.live),
      test: z.enum(EXPOSURE_ACTIONS).default(DEFAULT_EXPOSURE_POLICY.test),
    })
    .prefault({}),
  /** Rotation hygiene (docs/rotation.md): announcing keys due for rotation, expiring overdue ones, retiring drained ones. */
  rotation: z
    .strictObject({
      /** How often the scan runs; each run reads `keysPerScan` keys by id, resuming where the last one stopped. */
      scanIntervalSeconds: z.coerce.number().min(1).max(86_400).default(60),
      /** Keys read per run: with N keys, every key is looked at within ceil(N / keysPerScan) runs. */
      keysPerScan: z.coerce.number().int().min(100).max(1_000_000).default(20_000),
      /** How often rotated keys set to retire when drained are checked. */
      drainCheckIntervalSeconds: z.coerce.number().min(1).max(3600).default(30),
    })
    .prefault({}),
  /** One record per gateway request (docs/observability/request-log.md), written off the request path. */
  requestLog: z
    .strictObject({
      enabled: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(true),
      /** Whole UTC days kept before today; older days are deleted every hour. */
      retentionDays: z.coerce.number().int().min(1).max(3650).default(7),
      /** Records held in memory at most while they wait to be written; past it, new ones are dropped and counted. */
      bufferRecords: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
      /**
       * A flush starts when this many records wait... Records wait as bytes in a buffer that is reused,
       * so more cost no heap, and fewer round trips to the writer cost less CPU. (2,000 once made the
       * tail worse: parts then waited as ArrayBuffers of their own and set off major GCs; docs/benchmarks.md,
       * "sixteenth look" and "seventeenth look".)
       */
      flushRecords: z.coerce.number().int().min(1).max(1_000_000).default(2000),
      /** ...or this long after the last one. */
      flushIntervalMs: z.coerce.number().int().min(1).max(3_600_000).default(1000),
    })
    // Else the buffer is full before a flush by count can start: past bufferRecords per flushIntervalMs,
    // records are dropped while the store could keep up.
    .refine((r) => r.flushRecords <= r.bufferRecords, {
      message: 'must be at most requestLog.bufferRecords: a flush starts when this many records wait, and the buffer holds no more',
      path: ['flushRecords'],
    })
    .prefault({}),
  /** Usage analytics (docs/observability/usage.md): counts per minute, rolled up per hour and day as they are written. */
  analytics: z
    .strictObject({
      enabled: flag(true),
      minuteRetentionHours: z.coerce.number().int().min(1).max(2160).default(48),
      /** Billing sums hour rows: a month needs them for 31 days and a little, so at least 35. */
      hourRetentionDays: z.coerce.number().int().min(35).max(3650).default(90),
      dayRetentionDays: z.coerce.number().int().min(1).max(36_500).default(800),
      /** Calendar days and months of the billing export: UTC, or an IANA zone whose offset is always a whole number of hours. */
      billingTimeZone: z
        .string()
        .min(1)
        .default('UTC')
        .superRefine((zone, ctx) => {
          const problem = billingTimeZoneProblem(zone);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      /**
       * How often this process writes its cells. Rows are per minute and a query (or the
       * ratelimit.sustained scan) writes what is held first, so this only bounds what a crash loses;
       * each write adds every cell into three rollups, which with thousands of keys is most of the
       * store's work (docs/benchmarks.md). Gateway workers hand their cells over every usage flush.
       */
      flushIntervalSeconds: z.coerce.number().min(0.01).max(3600).default(30),
      /** Counter cells held at most while they wait to be written (one per minute and combination); past it, requests go uncounted and readiness warns. */
      maxCells: z.coerce.number().int().min(1).max(100_000_000).default(200_000),
    })
    .prefault({}),
  authFailures: z
    .strictObject({
      /** Failed credential checks one client IP may make per window before it is refused outright. */
      limit: z.coerce.number().int().min(1).default(30),
      windowSeconds: z.coerce.number().min(1).default(60),
    })
    .prefault({}),
  admin: z.strictObject({ maxBodyBytes: z.coerce.number().int().min(1024).default(65_536) }).prefault({}),
  /** The web app (docs/console.md): sessions of people signed in through the control plane, and where its built files are. */
  console: z
    .strictObject({
      /** The built single-page app (index.html, assets/); default: web/dist in the package. */
      assetsDir: z.string().min(1).optional(),
      /** A session unused this long ends. */
      idleTimeoutMinutes: z.coerce.number().min(1).max(1440).default(30),
      /** A session ends this long after sign-in, however much it is used. */
      absoluteTimeoutHours: z.coerce.number().min(0.1).max(720).default(12),
    })
    .prefault({}),
  /** The developer portal (/portal/v1, docs/console.md): who may sign up, and what developers may make. */
  portal: z
    .strictObject({
      /** invite-only: with an operator's single-use link; open: anyone; approval: anyone, signed in once an operator approves. */
      signup: z.enum(['invite-only', 'open', 'approval']).default('invite-only'),
      maxAppsPerDeveloper: z.coerce.number().int().min(0).max(1000).default(5),
      maxKeysPerApp: z.coerce.number().int().min(0).max(1000).default(5),
      /** The policy (name or id) every portal key gets: its limits, quota and scopes; none by default. */
      keyPolicy: z.string().min(1).optional(),
      /** The environment portal keys are issued in. */
      keyEnvironment: z.enum(['live', 'test']).default('test'),
      /** OAuth clients a developer may register per app, and the grant types they may use (their APIs are the catalogue's). */
      maxClientsPerApp: z.coerce.number().int().min(0).max(100).default(5),
      clientGrantTypes: z.array(z.enum(OAUTH_GRANT_TYPES)).max(OAUTH_GRANT_TYPES.length).default(['authorization_code', 'refresh_token', 'client_credentials']),
      /**
       * The scopes developers' clients may hold (each must also be a scope of the client's APIs). None by
       * default: a client-credentials token carries its scopes with no user to consent, so the operator
       * names the ones developers may have.
       */
      clientScopes: scopes.default([]),
      /** Webhook endpoints a developer may add per app (each takes only events about that app). */
      maxWebhooksPerApp: z.coerce.number().int().min(0).max(100).default(3),
      /** How long an invitation link stays valid. */
      inviteTtlHours: z.coerce
        .number()
        .min(1)
        .max(24 * 90)
        .default(72),
    })
    .prefault({}),
  /** Prometheus metrics at /metrics on the control listener (docs/observability/metrics.md). */
  metrics: z
    .strictObject({
      enabled: flag(true),
      /** `app_id` and `key_id` labels on the gateway's outcome and limit counters: a series per key, so off by default. */
      perKeyLabels: flag(false),
      /** Addresses (CIDRs) besides this machine's own that may scrape /metrics; none by default. */
      allowFrom: z.array(z.string().refine((v) => parseCidr(v) !== null, 'an IPv4 or IPv6 address or CIDR block')).default([]),
    })
    .prefault({}),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  authorization: z
    .strictObject({
      /** The issuer URL (`iss`); defaults to the control plane's own URL. */
      issuer: z
        .url({ protocol: /^https?$/ })
        .refine(withoutUserinfo, 'must not hold a user name or password: the issuer is published (discovery, every token’s iss, redirects)')
        // RFC 8414 §2 and OpenID Connect Discovery §3: an issuer identifier has no query or fragment.
        .refine((u) => !/[?#]/.test(u), 'must have no query or fragment (RFC 8414 §2)')
        .optional(),
      refreshTokenTtlSeconds: z.coerce
        .number()
        .int()
        .min(60)
        .default(14 * 86_400),
      /** However often a refresh token is rotated, the chain ends this long after the sign-in. */
      refreshTokenAbsoluteTtlSeconds: z.coerce
        .number()
        .int()
        .min(60)
        .default(90 * 86_400),
      sessionTtlSeconds: z.coerce
        .number()
        .int()
        .min(60)
        .default(14 * 86_400),
      /** A used refresh token presented again this soon is a retry, not theft (default off). */
      refreshTokenReuseGraceSeconds: z.coerce.number().min(0).max(60).default(0),
      /** Users holding any of these roles must pass a second factor. */
      mfaRequiredRoles: z.array(z.string().min(1)).default([]),
      /**
       * Console roles whose users must pass a second factor. By default admin and operator: the people
       * who issue, revoke and read credentials do not sign in with a password alone (two factors: AAL2,
       * NIST SP 800-63B §4.2). `[]` turns it off, explicitly; users may still be flagged one by one.
       */
      mfaRequiredConsoleRoles: z.array(z.enum(CONSOLE_ROLES)).default([...MFA_CONSOLE_ROLES_BY_DEFAULT]),
      signingAlg: z.enum(['ES256', 'RS256', 'EdDSA']).default('ES256'),
      signingKeyRotationDays: z.coerce.number().min(1).default(90),
      /** How long a new signing key is published before it signs, so verifiers' JWKS caches see it first. */
      signingKeyPublishLeadSeconds: z.coerce.number().min(0).default(3600),
      /** How often this node reads revocations made by other nodes: the bound on their delay here (at most an hour, as changes.pollIntervalSeconds). */
      revocationPollSeconds: z.coerce.number().min(0.1).max(3600).default(5),
      /**
       * Failed sign-ins, each a GCRA bucket: `limit` failures at once, then limit per window. Browsers
       * with a device cookie for the account count only against that cookie.
       */
      login: z
        .strictObject({
          /** One account name from one address. */
          accountAddressFailureLimit: z.coerce.number().int().min(1).default(5),
          accountAddressWindowSeconds: z.coerce.number().min(1).default(900),
          /** One address (an IPv4 address or an IPv6 /64), whatever names it tries. */
          ipFailureLimit: z.coerce.number().int().min(1).default(20),
          ipWindowSeconds: z.coerce.number().min(1).default(900),
          /** One account name from all addresses: a much higher bar that slows browsers without a device cookie. */
          accountFailureLimit: z.coerce.number().int().min(1).default(100),
          accountWindowSeconds: z.coerce.number().min(1).default(3600),
          /** Failures with one device cookie, without a successful sign-in between, before it is no longer trusted. */
          deviceFailureLimit: z.coerce.number().int().min(1).default(10),
          /** How long a device cookie is trusted after the sign-in that set it. */
          deviceCookieDays: z.coerce.number().min(1).max(400).default(90),
        })
        // Else one address, alone, could slow the account for every browser it does not know.
        .refine(
          (l) =>
            l.accountFailureLimit >= l.accountAddressFailureLimit &&
            l.accountFailureLimit / l.accountWindowSeconds >= l.accountAddressFailureLimit / l.accountAddressWindowSeconds,
          'the per-account bar (accountFailureLimit per accountWindowSeconds) must be at least the per-(account, address) one, in burst and in rate',
        )
        .prefault({}),
    })
    .refine((a) => a.refreshTokenAbsoluteTtlSeconds >= a.refreshTokenTtlSeconds, 'refreshTokenAbsoluteTtlSeconds must be at least refreshTokenTtlSeconds')
    .prefault({}),
  /** Bearer access tokens at the gateway: the verified-token cache and the issuers trusted besides our own. */
  tokens: z
    .strictObject({
      cacheEntries: z.coerce.number().int().min(0).default(100_000),
      dpopWindowSeconds: z.coerce.number().int().min(5).max(600).default(60),
      issuers: z
        .array(
          z
            .strictObject({
              issuer: z
                .string()
                .url()
                .refine(withoutUserinfo, 'must not hold a user name or password: it is matched against tokens’ iss, and logged and shown as it is'),
              discoveryUrl: fetchedUrl('the issuer’s discovery document is public').optional(),
              jwksUrl: fetchedUrl('the issuer’s keys are public').optional(),
              /** Pinned: a token signed with anything else is refused (RFC 8725 §3.1); never an HMAC. */
              algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['RS256', 'ES256']),
              /** The audience its tokens carry; default: the API's own (`tokens.audience`). */
              audience: z.string().min(1).optional(),
              clockSkewSeconds: z.number().int().min(0).max(300).default(60),
              /** Required `typ` header; null for issuers that do not mark access tokens (RFC 9068 asks for at+jwt). */
              typ: z.string().min(1).nullable().default('at+jwt'),
              /** An unknown `kid` refetches the JWKS at most this often. */
              jwksCooldownSeconds: z.number().min(1).default(30),
              /** For opaque tokens: RFC 7662 introspection, as a client of this issuer. */
              introspection: z
                .strictObject({
                  url: fetchedUrl('the client authenticates with clientId and clientSecretFile'),
                  clientId: z.string().min(1),
                  /** The client secret lives in a file (or GATEHOUSE_INTROSPECTION_CLIENT_SECRET), never here. */
                  clientSecretFile: z.string().min(1).optional(),
                  /** Answers are reused this long at most, never past the token's exp: the bound on a revocation's delay. */
                  cacheSeconds: z.number().min(0).max(3600).default(30),
                })
                .optional(),
            })
            .refine((i) => !(i.discoveryUrl && i.jwksUrl), 'give one of discoveryUrl and jwksUrl, not both')
            .refine((i) => Boolean(i.discoveryUrl || i.jwksUrl || i.introspection), 'give discoveryUrl, jwksUrl or introspection'),
        )
        .refine((list) => list.filter((i) => i.introspection).length <= 1, 'at most one issuer may introspect opaque tokens (they name no issuer)')
        .default([]),
    })
    .prefault({}),
  /**
   * OpenTelemetry traces, exported with OTLP over HTTP (JSON). Off by default. The standard OTEL_*
   * variables (config/otel-environment.ts) are read over this section, as GATEHOUSE_* are.
   */
  tracing: z
    .strictObject({
      enabled: flag(false),
      /** The collector's OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces). */
      endpoint: z.url({ protocol: /^https?$/ }).default('http://localhost:4318/v1/traces'),
      serviceName: z.string().min(1).max(255).default('gatehouse'),
      /** Head sampling: the share of new traces kept (TraceIdRatioBased); 1 keeps all. */
      sampleRatio: z.coerce.number().min(0).max(1).default(1),
      /** A trusted caller's sampled flag decides for its trace (ParentBased); false: the ratio decides every trace. */
      parentBased: flag(true),
      /**
       * Callers (socket addresses, CIDRs) whose W3C traceparent and tracestate are followed. Anyone else's
       * are ignored, so a client cannot choose which of its requests are sampled or which trace they join.
       */
      trustIncomingTraceparentFrom: z.array(z.string().refine((v) => parseCidr(v) !== null, 'an IPv4 or IPv6 address or CIDR block')).default([]),
      /** Spans are sent in batches this often, at most maxExportBatchSize at a time; when maxQueueSize are waiting, new ones are dropped. */
      scheduledDelayMs: z.coerce.number().int().min(1).max(60_000).default(5000),
      maxQueueSize: z.coerce.number().int().min(1).max(1_000_000).default(2048),
      maxExportBatchSize: z.coerce.number().int().min(1).max(1_000_000).default(512),
      /** One export may take this long (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT): it also bounds the flush at a graceful stop. */
      exportTimeoutMs: z.coerce.number().int().min(1).max(120_000).default(10_000),
      compression: z.enum(['none', 'gzip']).default('none'),
      /** Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES), e.g. deployment.environment.name. */
      resourceAttributes: z.record(z.string().min(1), z.string()).default({}),
    })
    .refine((t) => t.maxExportBatchSize <= t.maxQueueSize, 'maxExportBatchSize must be at most maxQueueSize')
    .prefault({}),
  /**
   * The secret-scanning receiver (docs/scanning.md): `POST /secret-scanning/github` on the control
   * listener takes GitHub's partner-program reports, signed with ECDSA P-256; on when a public key or
   * the keys' URL is configured.
   */
  secretScanning: z
    .strictObject({
      github: z
        .strictObject({
          /** GitHub's signing keys (https://api.github.com/meta/public_keys/secret_scanning), by `key_identifier`. */
          publicKeys: z
            .array(z.strictObject({ identifier: z.string().min(1).max(256), pem: z.string().refine(isEcP256PublicKey, 'a PEM EC P-256 public key') }))
            .default([]),
          /** Fetched (and cached) when a report names a key not configured above; GitHub's is https://api.github.com/meta/public_keys/secret_scanning. */
          publicKeysUrl: fetchedUrl('GitHub’s keys are public').optional(),
          publicKeysCacheSeconds: z.coerce.number().int().min(60).default(3600),
          /** Largest report accepted (bytes), and most tokens in one. */
          maxBodyBytes: z.coerce.number().int().min(1024).default(1_048_576),
          maxTokens: z.coerce.number().int().min(1).max(10_000).default(1000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Webhooks (docs/webhooks.md): endpoints are managed through the admin API; this is how they are delivered to. */
  webhooks: z
    .strictObject({
      /** Delivery and the admin routes; they also need a master key, which seals the endpoints' secrets. */
      enabled: flag(true),
      /** Plain-HTTP URLs (development and tests only): a webhook carries event data and a signature anyone on the path could replay. */
      allowHttp: flag(false),
      /** Every destination address allowed, loopback and private ones too (development and tests only). */
      allowPrivateNetworks: flag(false),
      /** Private addresses (CIDRs) the operator's webhooks may be sent to nonetheless, e.g. an internal receiver. */
      allowedNetworks: z.array(z.string().refine((v) => parseCidr(v) !== null, 'an IPv4 or IPv6 address or CIDR block')).default([]),
      /** The same for developers' endpoints (made in the portal); apart, so they never reach the operator's internal receivers. */
      developerAllowedNetworks: z.array(z.string().refine((v) => parseCidr(v) !== null, 'an IPv4 or IPv6 address or CIDR block')).default([]),
      /** CAs trusted for receivers' certificates besides the system's (PEM file). */
      caFile: z.string().min(1).optional(),
      /** One attempt (connect, send, answer) may take this long. */
      timeoutSeconds: z.coerce.number().min(0.1).max(120).default(15),
      /** How often delivery looks at the outbox and for retries due. */
      pollIntervalMs: z.coerce.number().int().min(10).max(600_000).default(1000),
      /** Requests in flight at once. */
      concurrency: z.coerce.number().int().min(1).max(256).default(8),
      /** Seconds before each retry (Standard Webhooks' schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); then the delivery fails. */
      retrySeconds: z
        .array(
          z
            .number()
            .min(0)
            .max(7 * 86_400),
        )
        .max(50)
        .default([5, 300, 1800, 7200, 18_000, 36_000, 36_000]),
      /** The random share of each retry delay: 1 is "full jitter" (anywhere from 0 to the delay), 0 none. */
      jitter: z.coerce.number().min(0).max(1).default(1),
      /** Failed attempts in a row (over all of an endpoint's deliveries) after which it is disabled. */
      disableAfterFailures: z.coerce.number().int().min(1).default(50),
      /** How long a rotated-out secret keeps signing beside the new one. */
      secretOverlapSeconds: z.coerce
        .number()
        .int()
        .min(0)
        .max(7 * 86_400)
        .default(86_400),
      /** Finished deliveries and their attempt logs are kept this long; outbox events too, once delivery has read them. */
      retentionDays: z.coerce.number().int().min(1).max(3650).default(30),
      /** Events found by scans rather than caused by a change. */
      scans: z
        .strictObject({
          /** How often the scans run. */
          intervalSeconds: z.coerce.number().min(0.1).max(3600).default(60),
          /** key.expiring is sent this long before a key expires, once per lead time. */
          keyExpiringLeadSeconds: z
            .array(z.number().int().min(1))
            .max(10)
            .default([7 * 86_400, 86_400]),
          /** quota.threshold is sent when a lineage's quota use reaches each share, once per period. */
          quotaThresholdPercents: z.array(z.number().min(1).max(1000)).max(10).default([80, 100]),
          /** ratelimit.sustained: a key refused RATE_LIMITED in this many consecutive minutes (needs analytics). */
          rateLimitSustainedMinutes: z.coerce.number().int().min(1).max(1440).default(5),
          /** login.failed_burst: this many failed sign-ins for one user within the window. */
          loginFailures: z.coerce.number().int().min(1).default(10),
          loginWindowSeconds: z.coerce.number().int().min(1).default(900),
        })
        .prefault({}),
    })
    .prefault({}),
  /** APIs declared here are created or updated by name at start. */
  apis: z.array(apiInputSchema).default([]),
});

function isEcP256PublicKey(pem: string): boolean {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

export type ParsedConfig = z.output<typeof configSchema>;
