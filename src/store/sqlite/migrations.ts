/**
 * Versioned schema migrations, applied in order at start and by `gatehouse migrate`. Append only:
 * a released migration never changes. Whole entities live in `data` (JSON); the columns beside it
 * are what queries filter, sort or constrain on.
 */
import type { DatabaseSync } from 'node:sqlite';
import { latencyColumnsMigration } from '../usage-rollups.ts';
import { moveRequestLogRowsToBatches } from './request-log-migration.ts';

/** A migration: its SQL, then (when the data must be reshaped in a way SQL cannot) `data`, in the same transaction. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  data?: (connection: DatabaseSync) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE apis (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, listen_path TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE apps (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE policies (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE keys (
        id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id), policy_id TEXT REFERENCES policies(id),
        hash TEXT NOT NULL UNIQUE, environment TEXT NOT NULL, enabled INTEGER NOT NULL,
        expires_at INTEGER, revoked_at INTEGER, last_used_at INTEGER, data TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE INDEX keys_app ON keys(app_id, id);
      CREATE INDEX keys_policy ON keys(policy_id);
      CREATE TABLE admin_keys (
        id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, data TEXT NOT NULL,
        created_at INTEGER NOT NULL, revoked_at INTEGER);
      CREATE TABLE audit (
        id TEXT PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        target_type TEXT NOT NULL, target_id TEXT NOT NULL, before TEXT, after TEXT, request_id TEXT);
      CREATE INDEX audit_target ON audit(target_id, id);
      CREATE TABLE usage_daily (
        key_id TEXT NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL, PRIMARY KEY (key_id, day));
      CREATE TABLE quota_usage (
        key_id TEXT NOT NULL, period TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (key_id, period));
    `,
  },
  {
    version: 2,
    name: 'authorization server',
    sql: `
      ALTER TABLE apis ADD COLUMN audience TEXT;
      UPDATE apis SET data = json_set(data, '$.tokens', json_object('audience', 'urn:gatehouse:api:' || name, 'accessTokenTtlSeconds', 900))
        WHERE json_extract(data, '$.tokens') IS NULL;
      UPDATE apis SET audience = json_extract(data, '$.tokens.audience');
      CREATE UNIQUE INDEX apis_audience ON apis(audience);
      CREATE TABLE users (
        id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE, data TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE oauth_clients (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE signing_keys (
        id TEXT PRIMARY KEY, data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE oidc_records (
        model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, expires_at INTEGER, consumed_at INTEGER,
        grant_id TEXT, uid TEXT, user_code TEXT, account_id TEXT, PRIMARY KEY (model, id));
      CREATE INDEX oidc_records_grant ON oidc_records(grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_records_uid ON oidc_records(uid) WHERE uid IS NOT NULL;
      CREATE INDEX oidc_records_user_code ON oidc_records(user_code) WHERE user_code IS NOT NULL;
      CREATE INDEX oidc_records_account ON oidc_records(account_id, model) WHERE account_id IS NOT NULL;
      CREATE INDEX oidc_records_expiry ON oidc_records(expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE revocations (
        kind TEXT NOT NULL, id TEXT NOT NULL, revoked_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
        PRIMARY KEY (kind, id));
      CREATE INDEX revocations_time ON revocations(revoked_at);
    `,
  },
  {
    version: 3,
    name: 'quotas per app or user',
    sql: `
      CREATE TABLE identity_quota_usage (
        counter TEXT NOT NULL, period TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (counter, period));
    `,
  },
  {
    // Records written before this version are kept under the secrets themselves (refresh tokens,
    // codes, session ids) with plaintext payloads. They cannot be rehashed here: the hash key is
    // derived from the master key, which the store never sees. So they go: users sign in again,
    // devices pair again, and grants are asked for again; JWT access tokens already issued run out.
    version: 4,
    name: 'authorization records under keyed hashes',
    sql: `
      DELETE FROM oidc_records;
    `,
  },
  {
    // Rate limits and quotas belong to a key's lineage (the key and every successor its rotations
    // made): quota use is kept under the lineage id, the id of the lineage's first key.
    version: 5,
    name: 'key lineage',
    sql: `
      ALTER TABLE keys ADD COLUMN lineage_id TEXT;
      UPDATE keys SET lineage_id = COALESCE(json_extract(data, '$.lineageId'), id);
      CREATE INDEX keys_lineage ON keys (lineage_id);
    `,
  },
  {
    // The request log: one row per gateway request, appended by the writer thread. One table with an
    // index by time serves both the admin API's time-range reads and retention, which deletes from
    // the old end of that index a bounded part at a time. (A table per day would make dropping a day
    // cheaper, but every read across days would become a UNION over tables made at run time, and
    // the schema would no longer be what the migrations say.) Only time is indexed: the time index
    // grows at its end, so an insert touches the same few pages; an index by key would put each
    // insert on another page (one per active key), costing about a page of write-ahead log per
    // request with thousands of keys. Filters scan the chosen time range, on the reader thread.
    version: 6,
    name: 'request log',
    sql: `
      CREATE TABLE request_log (
        id INTEGER PRIMARY KEY, at INTEGER NOT NULL, request_id TEXT NOT NULL, trace_id TEXT,
        api_id TEXT, api TEXT, route TEXT, method TEXT NOT NULL, path TEXT NOT NULL, query TEXT,
        status INTEGER NOT NULL, denial_code TEXT, duration_ms REAL NOT NULL, upstream_ms REAL,
        bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, key_id TEXT, app_id TEXT, user_sub TEXT,
        client_id TEXT, address TEXT NOT NULL, user_agent TEXT);
      CREATE INDEX request_log_time ON request_log (at);
    `,
  },
  {
    // Where a key was last used from (the client address), beside when: coalesced per usage flush.
    version: 7,
    name: 'key last used from',
    sql: `
      ALTER TABLE keys ADD COLUMN last_used_from TEXT;
    `,
  },
  {
    // Usage analytics: counts per bucket and combination of dimensions, for three granularities,
    // each row added to (upsert) by every flush. '' stands for "none" in the dimension columns: a
    // UNIQUE constraint treats NULLs as distinct, so NULL would make a new row per flush instead of
    // adding to one. The unique index leads with (granularity, bucket): reads by time range and
    // retention (which deletes the oldest buckets) both walk it.
    version: 8,
    name: 'usage analytics',
    sql: `
      CREATE TABLE usage_rollups (
        granularity TEXT NOT NULL, bucket INTEGER NOT NULL,
        api_id TEXT NOT NULL, route TEXT NOT NULL, key_id TEXT NOT NULL, app_id TEXT NOT NULL,
        status_class TEXT NOT NULL, denial_code TEXT NOT NULL,
        requests INTEGER NOT NULL, bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, duration_us INTEGER NOT NULL);
      CREATE UNIQUE INDEX usage_rollups_cell ON usage_rollups (granularity, bucket, api_id, route, key_id, app_id, status_class, denial_code);
    `,
  },
  {
    // Where each key is used from: one row per key and client address (first and last seen, requests),
    // upserted by the usage flush. A key keeps at most the batch's `addressesPerKey` rows; uses from
    // further addresses add to its row for address '*'. By key and time for the drain view and the
    // list (newest first); by time alone for retention, which cuts rows not seen for a while.
    version: 9,
    name: 'key addresses',
    sql: `
      CREATE TABLE key_addresses (
        key_id TEXT NOT NULL, address TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
        requests INTEGER NOT NULL, PRIMARY KEY (key_id, address)) WITHOUT ROWID;
      CREATE INDEX key_addresses_recent ON key_addresses (key_id, last_seen);
      CREATE INDEX key_addresses_seen ON key_addresses (last_seen);
    `,
  },
  {
    // The outbox of webhook events, written in the transaction of the change that caused each one.
    // seq is the order delivery reads them in (an alias of the rowid, so appends stay at the end);
    // dedupe_key makes periodic scans announce a condition once (NULLs are distinct: no key, no limit).
    version: 10,
    name: 'event outbox',
    sql: `
      CREATE TABLE event_outbox (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, type TEXT NOT NULL,
        data TEXT NOT NULL, dedupe_key TEXT UNIQUE);
      CREATE INDEX event_outbox_at ON event_outbox (at);
    `,
  },
  {
    version: 11,
    name: 'exchanged tokens',
    // Tokens exchanged for API keys, by key: a compromised key's are revoked with it (KeyRepo.compromise).
    sql: `
      CREATE TABLE exchanged_tokens (
        jti TEXT PRIMARY KEY, key_id TEXT NOT NULL, client_id TEXT NOT NULL, audience TEXT NOT NULL, scope TEXT NOT NULL,
        issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER);
      CREATE INDEX exchanged_tokens_key ON exchanged_tokens (key_id, issued_at);
      CREATE INDEX exchanged_tokens_expiry ON exchanged_tokens (expires_at);
    `,
  },
  {
    // Rotation hygiene (docs/rotation.md). The periodic scan walks keys by id a bounded part at a time
    // and computes each key's schedule from its rule, so nothing derived from a policy is copied onto
    // its keys (a policy change needs no rewrite of them). What it must remember is which due date it
    // announced, and when: one row per key, deleted with the key. A key's own rule's period is a
    // column, so filters tell keys without a rule apart without parsing their JSON (no key has a rule
    // before this version: nothing to fill in). Rotated keys set to retire when drained carry their
    // quiet period in a column, indexed by grace end only where it is set, so the drain check reads
    // just the keys inside such a grace period.
    version: 12,
    name: 'key rotation',
    sql: `
      CREATE TABLE key_rotation_notices (
        key_id TEXT PRIMARY KEY REFERENCES keys(id) ON DELETE CASCADE, due_at INTEGER NOT NULL, noticed_at INTEGER NOT NULL) WITHOUT ROWID;
      ALTER TABLE keys ADD COLUMN rotation_days INTEGER;
      ALTER TABLE keys ADD COLUMN retire_quiet_ms INTEGER;
      CREATE INDEX keys_draining ON keys (expires_at, id) WHERE retire_quiet_ms IS NOT NULL;
    `,
  },
  {
    // Webhook endpoints (the whole endpoint as JSON, its sealed secrets included; the run of failed
    // attempts beside it, counted by delivery without rewriting the rest), the outbox position delivery
    // has reached, one delivery per event and endpoint (the UNIQUE pair makes a repeated fan-out a no-op),
    // and each attempt's log line. Pending deliveries are found by due time; an endpoint's by id.
    // Keys by expiry: the scan announcing key.expiring and key.expired reads a window of them.
    version: 13,
    name: 'webhooks',
    sql: `
      CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY, data TEXT NOT NULL, consecutive_failures INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE webhook_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
      CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY, endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_id TEXT NOT NULL, event_seq INTEGER NOT NULL, event_type TEXT NOT NULL, event_at INTEGER NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER, last_attempt_at INTEGER,
        created_at INTEGER NOT NULL, UNIQUE (event_id, endpoint_id));
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
      CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
      CREATE TABLE webhook_attempts (
        delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE, at INTEGER NOT NULL,
        status_code INTEGER, error TEXT, duration_ms INTEGER NOT NULL, response_excerpt TEXT);
      CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at);
      CREATE INDEX keys_expiry ON keys (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
  {
    // The web app's sessions (control/console/): kept under the keyed hash of the cookie's id, tokens
    // sealed; found by user (sign out everywhere) and by the earlier of their two ends (expiry sweep).
    // A person acting through the web app is audited as `user:<id>`, with their sign-in name beside it.
    version: 14,
    name: 'console sessions',
    sql: `
      CREATE TABLE console_sessions (
        id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, sealed_tokens TEXT NOT NULL, access_expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, idle_expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX console_sessions_user ON console_sessions (user_id, created_at);
      CREATE INDEX console_sessions_idle ON console_sessions (idle_expires_at);
      CREATE INDEX console_sessions_end ON console_sessions (expires_at);
      ALTER TABLE audit ADD COLUMN actor_name TEXT;
    `,
  },
  {
    // The developer portal: apps a developer owns, found by owner; OpenAPI documents attached to APIs,
    // apart from the API rows (the route table reads every API; documents are read one at a time).
    version: 15,
    name: 'portal',
    sql: `
      ALTER TABLE apps ADD COLUMN owner_user_id TEXT;
      CREATE INDEX apps_owner ON apps (owner_user_id, id) WHERE owner_user_id IS NOT NULL;
      CREATE TABLE api_documents (
        api_id TEXT PRIMARY KEY REFERENCES apis(id) ON DELETE CASCADE, content_type TEXT NOT NULL, body TEXT NOT NULL,
        updated_at INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    // The developer portal's OAuth clients and webhook endpoints, each scoped to a developer's app and
    // found by it. Expand only (nullable columns, partial indexes): older nodes keep serving; what they
    // write leaves app_id as it was. A scoped endpoint's event types are kept where they do not look
    // (store/rows.ts endpointData), so they never send it another app's events.
    version: 16,
    name: 'portal clients and webhooks',
    sql: `
      ALTER TABLE oauth_clients ADD COLUMN app_id TEXT;
      CREATE INDEX oauth_clients_app ON oauth_clients (app_id, id) WHERE app_id IS NOT NULL;
      ALTER TABLE webhook_endpoints ADD COLUMN app_id TEXT;
      CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id, id) WHERE app_id IS NOT NULL;
    `,
  },
  {
    // Usage analytics' latency histogram: requests per bucket of domain/latency-histogram.ts, one integer
    // column per bucket so rollups add and queries SUM them like the other counts. Expand only: columns
    // with DEFAULT 0, so older nodes keep writing (their rows count no latency) while it applies.
    version: 17,
    name: 'usage latency histogram',
    sql: latencyColumnsMigration('INTEGER'),
  },
  {
    // The request log kept as the batches the request log's buffer encodes (store/entry-batch.ts), one
    // row per batch with the time range it covers: one insert per batch instead of one per request with
    // 21 values bound (docs/architecture.md, "The request log on SQLite"). The old rows move into
    // batches of their own, then their table goes.
    version: 18,
    name: 'request log in batches',
    sql: `
      CREATE TABLE request_log_batches (
        id INTEGER PRIMARY KEY, first_at REAL NOT NULL, last_at REAL NOT NULL, entries INTEGER NOT NULL, bytes BLOB NOT NULL);
      CREATE INDEX request_log_batches_last ON request_log_batches (last_at);
    `,
    data: (connection) => {
      moveRequestLogRowsToBatches(connection);
      connection.exec('DROP TABLE request_log');
    },
  },
  {
    // A key's last use (when, and from which address) in a narrow table of its own: every usage flush
    // writes it for every key used since the last, and rewriting the key's whole row for that cost
    // 7.5 µs per key against 1.7 here (docs/benchmarks.md, "eighteenth look"). Single node, so the
    // columns go at once (PostgreSQL keeps its own for a rolling upgrade).
    version: 19,
    name: 'key last use in a table of its own',
    sql: `
      CREATE TABLE key_last_use (
        key_id TEXT PRIMARY KEY REFERENCES keys(id) ON DELETE CASCADE, used_at INTEGER NOT NULL, used_from TEXT) WITHOUT ROWID;
      INSERT INTO key_last_use (key_id, used_at, used_from) SELECT id, last_used_at, last_used_from FROM keys WHERE last_used_at IS NOT NULL;
      ALTER TABLE keys DROP COLUMN last_used_at;
      ALTER TABLE keys DROP COLUMN last_used_from;
    `,
  },
  {
    // Key addresses without the index by key and time: every usage flush moves each used row's
    // last_seen, and that index cost 4.5 µs per key and flush (docs/benchmarks.md, "eighteenth look").
    // A key's rows (at most ADDRESSES_PER_KEY + 1) are found by the primary key's prefix instead.
    version: 20,
    name: 'key addresses without the per-key time index',
    sql: `
      DROP INDEX key_addresses_recent;
    `,
  },
  {
    // Retention's index on key addresses by the day last seen (seen_day), not the time: a flush writes
    // seen_day only when a row's day changes, so the index moves once a day per row, not at every flush
    // (2.5-3 µs per key and flush; docs/benchmarks.md, "eighteenth look").
    version: 21,
    name: 'key addresses indexed by the day last seen',
    sql: `
      ALTER TABLE key_addresses ADD COLUMN seen_day INTEGER NOT NULL DEFAULT 0;
      UPDATE key_addresses SET seen_day = CAST(last_seen / 86400000 AS INTEGER);
      DROP INDEX key_addresses_seen;
      CREATE INDEX key_addresses_seen_day ON key_addresses (seen_day);
    `,
  },
  {
    // Daily counts and quota use keyed by the day (period) first: a flush adds to today's row of every
    // key used, and with the key first those rows lie apart among every earlier day's, so each lookup
    // missed SQLite's page cache once a node had run a month (3.2 µs per key against 1.2; the flush
    // grew from 9.2 to 11.1 µs per key). A key's own rows (its usage, its deletion) have an index.
    version: 22,
    name: 'usage counts keyed by the day first',
    sql: `
      CREATE TABLE usage_daily_by_day (key_id TEXT NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL, PRIMARY KEY (day, key_id));
      INSERT INTO usage_daily_by_day (key_id, day, requests) SELECT key_id, day, requests FROM usage_daily ORDER BY day, key_id;
      DROP TABLE usage_daily;
      ALTER TABLE usage_daily_by_day RENAME TO usage_daily;
      CREATE INDEX usage_daily_key ON usage_daily (key_id, day);
      CREATE TABLE quota_usage_by_period (key_id TEXT NOT NULL, period TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (period, key_id));
      INSERT INTO quota_usage_by_period (key_id, period, used) SELECT key_id, period, used FROM quota_usage ORDER BY period, key_id;
      DROP TABLE quota_usage;
      ALTER TABLE quota_usage_by_period RENAME TO quota_usage;
      CREATE INDEX quota_usage_key ON quota_usage (key_id, period);
    `,
  },
  {
    // A console session's refresh claimed by one node at a time (sessions.ts): a rotating refresh token
    // presented by two nodes at once is a reuse, which revokes the grant (RFC 9700 §4.14.2).
    version: 23,
    name: 'console sessions: refresh claim',
    sql: `
      ALTER TABLE console_sessions ADD COLUMN refresh_claimed_until INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    // A version per authorization record, so a grant is changed by compare-and-set (oidc-adapter.ts):
    // two authorizations widening one grant at once no longer lose one widening.
    version: 24,
    name: 'authorization records: version',
    sql: `
      ALTER TABLE oidc_records ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    // A consume's unique value beside its stamp (oidc-adapter.ts giveBack): the stamp is a millisecond,
    // and a request that gave back its consume of a code or refresh token by the stamp alone could undo
    // another request's consume of it made in the same millisecond (its own never reached the store),
    // leaving a used token unused: a second chain, or a reuse never seen (RFC 9700 §4.14.2). NULL for a
    // consume made without one (before this, or a portal invitation's).
    version: 25,
    name: 'authorization records: who consumed',
    sql: `
      ALTER TABLE oidc_records ADD COLUMN consumed_by TEXT;
    `,
  },
];
