/**
 * The PostgreSQL schema's migrations, applied in order by one node at a time (an advisory lock, in
 * postgres-store.ts). Append only. Version 1 is the whole schema the SQLite adapter reached in its
 * own migrations 1-13, written for PostgreSQL: this adapter had no earlier users to carry along.
 *
 * Every later migration must be safe while older nodes still serve (expand, then contract): add
 * tables, nullable columns and indexes (CONCURRENTLY where a table is large) first; drop or
 * tighten only in a later release, once no node reads the old shape (docs/deployment.md).
 *
 * Entities live whole in `data` (jsonb); the columns beside it are what queries filter, sort or
 * constrain on. Times are epoch milliseconds in BIGINT, as in the port.
 */
import { latencyColumnsMigration } from '../usage-rollups.ts';

export const PG_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    // Ids, addresses and other cursor columns sort with COLLATE "C" (bytewise, as SQLite does), so
    // pages and cursors do not depend on the database's locale.
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE apis (
        id TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL UNIQUE, listen_path TEXT NOT NULL UNIQUE, audience TEXT UNIQUE,
        data JSONB NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE TABLE apps (
        id TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL, data JSONB NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE INDEX apps_name ON apps (name, id);
      CREATE TABLE policies (
        id TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL UNIQUE, data JSONB NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE TABLE keys (
        id TEXT COLLATE "C" PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id), policy_id TEXT REFERENCES policies(id),
        hash TEXT NOT NULL UNIQUE, environment TEXT NOT NULL, enabled BOOLEAN NOT NULL,
        expires_at BIGINT, revoked_at BIGINT, last_used_at BIGINT, last_used_from TEXT, lineage_id TEXT NOT NULL,
        rotation_days DOUBLE PRECISION, retire_quiet_ms BIGINT,
        data JSONB NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE INDEX keys_app ON keys (app_id, id);
      CREATE INDEX keys_policy ON keys (policy_id);
      CREATE INDEX keys_lineage ON keys (lineage_id);
      CREATE INDEX keys_draining ON keys (expires_at, id) WHERE retire_quiet_ms IS NOT NULL;
      CREATE TABLE key_rotation_notices (
        key_id TEXT PRIMARY KEY REFERENCES keys(id) ON DELETE CASCADE, due_at BIGINT NOT NULL, noticed_at BIGINT NOT NULL);
      CREATE TABLE admin_keys (
        id TEXT COLLATE "C" PRIMARY KEY, hash TEXT NOT NULL UNIQUE, data JSONB NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT);
      -- seq: commit order (see takeCommitTurn), which the change feed reads other nodes' changes in.
      CREATE TABLE audit (
        id TEXT COLLATE "C" PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        target_type TEXT NOT NULL, target_id TEXT NOT NULL, before JSONB, after JSONB, request_id TEXT);
      CREATE INDEX audit_target ON audit (target_id, id);
      CREATE TABLE usage_daily (
        key_id TEXT NOT NULL, day TEXT NOT NULL, requests BIGINT NOT NULL, PRIMARY KEY (key_id, day));
      CREATE TABLE quota_usage (
        key_id TEXT NOT NULL, period TEXT NOT NULL, used BIGINT NOT NULL, PRIMARY KEY (key_id, period));
      CREATE TABLE identity_quota_usage (
        counter TEXT NOT NULL, period TEXT NOT NULL, used BIGINT NOT NULL, PRIMARY KEY (counter, period));
      -- Sign-in names compare case-insensitively (SQLite: COLLATE NOCASE): one index on lower().
      CREATE TABLE users (
        id TEXT COLLATE "C" PRIMARY KEY, username TEXT NOT NULL, data JSONB NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE UNIQUE INDEX users_username ON users (lower(username));
      CREATE TABLE oauth_clients (
        id TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL, data JSONB NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE TABLE signing_keys (
        id TEXT COLLATE "C" PRIMARY KEY, data JSONB NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      -- seq keeps insertion order (SQLite's rowid), which listByGrant and listByAccount sort by.
      CREATE TABLE oidc_records (
        model TEXT NOT NULL, id TEXT COLLATE "C" NOT NULL, seq BIGINT GENERATED ALWAYS AS IDENTITY, payload JSONB NOT NULL,
        expires_at BIGINT, consumed_at BIGINT, grant_id TEXT, uid TEXT, user_code TEXT, account_id TEXT,
        PRIMARY KEY (model, id));
      CREATE INDEX oidc_records_grant ON oidc_records (grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_records_uid ON oidc_records (uid) WHERE uid IS NOT NULL;
      CREATE INDEX oidc_records_user_code ON oidc_records (user_code) WHERE user_code IS NOT NULL;
      CREATE INDEX oidc_records_account ON oidc_records (account_id, model) WHERE account_id IS NOT NULL;
      CREATE INDEX oidc_records_expiry ON oidc_records (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE revocations (
        kind TEXT NOT NULL, id TEXT COLLATE "C" NOT NULL, revoked_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (kind, id));
      CREATE INDEX revocations_time ON revocations (revoked_at);
      CREATE TABLE request_log (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, request_id TEXT NOT NULL, trace_id TEXT,
        api_id TEXT, api TEXT, route TEXT, method TEXT NOT NULL, path TEXT NOT NULL, query TEXT,
        status INTEGER NOT NULL, denial_code TEXT, duration_ms DOUBLE PRECISION NOT NULL, upstream_ms DOUBLE PRECISION,
        bytes_in BIGINT NOT NULL, bytes_out BIGINT NOT NULL, key_id TEXT, app_id TEXT, user_sub TEXT,
        client_id TEXT, address TEXT NOT NULL, user_agent TEXT);
      CREATE INDEX request_log_time ON request_log (at);
      -- '' stands for "none" in the dimension columns, as in SQLite: the unique index then adds to one row.
      CREATE TABLE usage_rollups (
        granularity TEXT NOT NULL, bucket BIGINT NOT NULL,
        api_id TEXT NOT NULL, route TEXT NOT NULL, key_id TEXT NOT NULL, app_id TEXT NOT NULL,
        status_class TEXT NOT NULL, denial_code TEXT NOT NULL,
        requests BIGINT NOT NULL, bytes_in BIGINT NOT NULL, bytes_out BIGINT NOT NULL, duration_us BIGINT NOT NULL);
      CREATE UNIQUE INDEX usage_rollups_cell ON usage_rollups (granularity, bucket, api_id, route, key_id, app_id, status_class, denial_code);
      CREATE TABLE key_addresses (
        key_id TEXT NOT NULL, address TEXT COLLATE "C" NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
        requests BIGINT NOT NULL, PRIMARY KEY (key_id, address));
      CREATE INDEX key_addresses_recent ON key_addresses (key_id, last_seen DESC, address DESC);
      CREATE INDEX key_addresses_seen ON key_addresses (last_seen);
      CREATE TABLE event_outbox (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id TEXT NOT NULL UNIQUE, at BIGINT NOT NULL, type TEXT NOT NULL,
        data JSONB NOT NULL, dedupe_key TEXT UNIQUE);
      CREATE INDEX event_outbox_at ON event_outbox (at);
      CREATE TABLE exchanged_tokens (
        jti TEXT COLLATE "C" PRIMARY KEY, key_id TEXT NOT NULL, client_id TEXT NOT NULL, audience TEXT NOT NULL, scope TEXT NOT NULL,
        issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT);
      CREATE INDEX exchanged_tokens_key ON exchanged_tokens (key_id, issued_at DESC, jti DESC);
      CREATE INDEX exchanged_tokens_expiry ON exchanged_tokens (expires_at);
      CREATE TABLE webhook_endpoints (
        id TEXT COLLATE "C" PRIMARY KEY, data JSONB NOT NULL, consecutive_failures INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE TABLE webhook_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL);
      CREATE TABLE webhook_deliveries (
        id TEXT COLLATE "C" PRIMARY KEY, endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_id TEXT NOT NULL, event_seq BIGINT NOT NULL, event_type TEXT NOT NULL, event_at BIGINT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at BIGINT, last_attempt_at BIGINT,
        created_at BIGINT NOT NULL, UNIQUE (event_id, endpoint_id));
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
      CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
      -- seq keeps insertion order for attempts logged in the same millisecond (SQLite's rowid).
      CREATE TABLE webhook_attempts (
        delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE, seq BIGINT GENERATED ALWAYS AS IDENTITY,
        at BIGINT NOT NULL, status_code INTEGER, error TEXT, duration_ms INTEGER NOT NULL, response_excerpt TEXT);
      CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at);
      CREATE INDEX keys_expiry ON keys (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
  {
    // SQLite's 14: the web app's sessions, and the name of a person acting through it in the audit log.
    // Expand only: a new table and a nullable column, so older nodes keep serving while it applies.
    version: 2,
    name: 'console sessions',
    sql: `
      CREATE TABLE console_sessions (
        id_hash TEXT COLLATE "C" PRIMARY KEY, user_id TEXT NOT NULL, sealed_tokens TEXT NOT NULL, access_expires_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, idle_expires_at BIGINT NOT NULL);
      CREATE INDEX console_sessions_user ON console_sessions (user_id, created_at);
      CREATE INDEX console_sessions_idle ON console_sessions (idle_expires_at);
      CREATE INDEX console_sessions_end ON console_sessions (expires_at);
      ALTER TABLE audit ADD COLUMN actor_name TEXT;
    `,
  },
  {
    // SQLite's 15: the developer portal's app owners and the APIs' OpenAPI documents.
    version: 3,
    name: 'portal',
    sql: `
      ALTER TABLE apps ADD COLUMN owner_user_id TEXT;
      CREATE INDEX apps_owner ON apps (owner_user_id, id) WHERE owner_user_id IS NOT NULL;
      CREATE TABLE api_documents (
        api_id TEXT COLLATE "C" PRIMARY KEY REFERENCES apis(id) ON DELETE CASCADE, content_type TEXT NOT NULL, body TEXT NOT NULL,
        updated_at BIGINT NOT NULL);
    `,
  },
  {
    // SQLite's 16: the developer portal's OAuth clients and webhook endpoints, scoped to a developer's app.
    // Expand only: nullable columns and indexes on small tables, so older nodes keep serving.
    version: 4,
    name: 'portal clients and webhooks',
    sql: `
      ALTER TABLE oauth_clients ADD COLUMN app_id TEXT;
      CREATE INDEX oauth_clients_app ON oauth_clients (app_id, id) WHERE app_id IS NOT NULL;
      ALTER TABLE webhook_endpoints ADD COLUMN app_id TEXT;
      CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id, id) WHERE app_id IS NOT NULL;
    `,
  },
  {
    // SQLite's 17: usage analytics' latency histogram, one bigint column per bucket. Expand only: a
    // constant DEFAULT adds a column without rewriting the table, and older nodes keep writing.
    version: 5,
    name: 'usage latency histogram',
    sql: latencyColumnsMigration('BIGINT'),
  },
  {
    // SQLite's 19: a key's last use in a narrow table of its own, so a usage flush no longer writes a new
    // version of every used key's whole row. Expand only: keys.last_used_* stay, older nodes keep writing
    // them, and reads take the later of the two (keys.ts LAST_USE) until a later release drops them. No
    // foreign key: a flush racing a key's deletion must not fail; keys.delete deletes the row.
    version: 6,
    name: 'key last use in a table of its own',
    sql: `
      CREATE TABLE key_last_use (key_id TEXT COLLATE "C" PRIMARY KEY, used_at BIGINT NOT NULL, used_from TEXT);
      INSERT INTO key_last_use (key_id, used_at, used_from) SELECT id, last_used_at, last_used_from FROM keys WHERE last_used_at IS NOT NULL;
    `,
  },
  {
    // SQLite's 20 and 21: no index on key addresses moves when a flush adds to a row, so the update is
    // HOT (a new tuple on the same page, no index entries) and most of a flush's WAL goes. Retention's
    // index is by the day last seen, a generated column (older nodes' writes keep it right), which
    // changes once a day per row; a key's rows (at most 1,001) are found by the primary key's prefix.
    // Older nodes' retention still runs, by a sequential scan, until they are replaced
    // (docs/deployment.md). Room on each page, so a flush's new versions fit beside the old ones: half of
    // it where rows are updated for good (key addresses, last use; at 80 %, a third to two thirds of
    // updates were HOT, at 50 % 99 %); a fifth for daily counts and quota use, whose rows stop changing
    // when their day or month ends and would keep the room for good (90 % HOT over twelve flushes, the
    // same WAL per key once settled). The indexes go first, so the column's rewrite (which applies the
    // fillfactor here) does not rebuild them; the other tables take it for pages written from now on.
    version: 7,
    name: 'usage flushes update rows in place (HOT)',
    sql: `
      DROP INDEX key_addresses_recent;
      DROP INDEX key_addresses_seen;
      ALTER TABLE key_addresses SET (fillfactor = 50);
      ALTER TABLE key_last_use SET (fillfactor = 50);
      ALTER TABLE usage_daily SET (fillfactor = 80);
      ALTER TABLE quota_usage SET (fillfactor = 80);
      ALTER TABLE key_addresses ADD COLUMN seen_day BIGINT GENERATED ALWAYS AS (last_seen / 86400000) STORED;
      CREATE INDEX key_addresses_seen_day ON key_addresses (seen_day);
    `,
  },
  {
    // Usernames fold ASCII case only, as SQLite's NOCASE does: lower() under the "C" collation, where
    // lower() under the database's locale folded all of Unicode (É and é were one name here, two there).
    // Only narrower: names unique before stay unique. Older nodes' lookups still find users (a scan
    // of a small table) until they are replaced.
    version: 8,
    name: 'usernames fold ASCII case only',
    sql: `
      CREATE UNIQUE INDEX users_username_ascii ON users (lower(username COLLATE "C"));
      DROP INDEX users_username;
    `,
  },
  {
    // SQLite's 23: a console session's refresh claimed by one node at a time (sessions.ts), since a
    // rotating refresh token presented by two nodes at once is a reuse, which revokes the grant (RFC 9700
    // §4.14.2). A column with a constant default (no rewrite); older nodes neither read nor set it.
    version: 9,
    name: 'console sessions: refresh claim',
    sql: `
      ALTER TABLE console_sessions ADD COLUMN refresh_claimed_until BIGINT NOT NULL DEFAULT 0;
    `,
  },
  {
    // Until usage flushes and key deletions took turns (usage.ts flushTurn), a flush racing a key's
    // deletion could add rows for the key after the deletion had deleted its own: daily counts, last
    // use, addresses, and quota use of a lineage whose last key it was. Nothing reads or deletes them
    // again. Only rows no key (no lineage, for quota use) owns go, so it is safe while older nodes
    // serve; an older node may still leave one until it is replaced. SQLite never had them: its writes
    // take turns (BEGIN IMMEDIATE), and key_last_use cascades there.
    version: 10,
    name: 'usage rows of deleted keys',
    sql: `
      DELETE FROM usage_daily u WHERE NOT EXISTS (SELECT 1 FROM keys WHERE keys.id = u.key_id);
      DELETE FROM key_last_use l WHERE NOT EXISTS (SELECT 1 FROM keys WHERE keys.id = l.key_id);
      DELETE FROM key_addresses a WHERE NOT EXISTS (SELECT 1 FROM keys WHERE keys.id = a.key_id);
      DELETE FROM quota_usage q WHERE NOT EXISTS (SELECT 1 FROM keys WHERE keys.lineage_id = q.key_id);
    `,
  },
  {
    // SQLite's 24: a version per authorization record, so a grant is changed by compare-and-set
    // (oidc-adapter.ts): two authorizations widening one grant at once no longer lose one widening. A
    // column with a constant default (no rewrite). An older node's writes leave it as it is, so its
    // widening can still be lost to a newer node's until it is replaced.
    version: 11,
    name: 'authorization records: version',
    sql: `
      ALTER TABLE oidc_records ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    // SQLite's 25: a consume's unique value beside its stamp (oidc-adapter.ts giveBack), so a request
    // gives back its own consume of a code or refresh token and never another's stamped the same
    // millisecond. A nullable column (no rewrite). An older node gives back by the stamp alone, as
    // before, until it is replaced; a newer node never gives back an older node's consume.
    version: 12,
    name: 'authorization records: who consumed',
    sql: `
      ALTER TABLE oidc_records ADD COLUMN consumed_by TEXT;
    `,
  },
];
