import type { EntryBatch } from './entry-batch.ts';
import type { EventInput, OutboxEvent } from '../domain/events.ts';
import type { DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint } from '../domain/webhooks.ts';
import type { AdminKey, Api, ApiDocument, ApiKey, App, AuditEntry, AuditInput, OAuthClient, Policy, SigningKey, User } from '../domain/entities.ts';
import type { RotationNotice, RotationRule } from '../domain/rotation.ts';

/**
 * The storage port. Every adapter (SQLite now; PostgreSQL next) implements it and passes the same
 * contract suites (store/contract.ts runs them) unchanged. Each change takes its audit entry and the adapter
 * writes both atomically, so no change can reach the store without its audit record.
 */
export interface Store {
  readonly apis: NamedEntityRepo<Api> & { all(): Promise<Api[]> };
  readonly apps: NamedEntityRepo<App> & {
    /** A developer's apps (ownerUserId), by id. */
    listByOwner(userId: string, query: PageQuery): Promise<Page<App>>;
    countByOwner(userId: string): Promise<number>;
    /**
     * Creates the app unless its owner (`ownerUserId`) has `max` apps already, counted in the
     * transaction that inserts it, so that creates made at the same time, on one node or several,
     * take turns and cannot pass the limit together (the portal's `maxAppsPerDeveloper`); false when
     * the owner is at it.
     */
    createWithin(app: App, audit: AuditInput, max: number): Promise<boolean>;
  };
  /** OpenAPI documents attached to APIs (the portal's reference pages); deleted with their API. */
  readonly apiDocuments: {
    /** Attaches or replaces the API's document, with its audit entry. */
    put(document: ApiDocument, audit: AuditInput): Promise<void>;
    get(apiId: string): Promise<ApiDocument | null>;
    /** Which of these APIs have a document. */
    which(apiIds: readonly string[]): Promise<Set<string>>;
  };
  readonly policies: NamedEntityRepo<Policy>;
  readonly keys: KeyRepo;
  readonly adminKeys: AdminKeyRepo;
  readonly audit: AuditRepo;
  readonly usage: UsageRepo;
  readonly keyAddresses: KeyAddressRepo;
  readonly users: Omit<EntityRepo<User>, 'list'> & {
    list(query: UserListQuery): Promise<Page<User>>;
    findByUsername(username: string): Promise<User | null>;
    /** Replaces the user only if it is still as read (its updatedAt): a single-use code is used once, even by racing requests. */
    updateIfUnchanged(user: User, expectedUpdatedAt: number, audit: AuditInput): Promise<boolean>;
    /**
     * Creates the user and consumes an authorization-server record (a portal invitation, by its stored
     * id) in one transaction: false, with nothing written, when the record is consumed already, expired
     * or gone; ConflictError, with the record left unconsumed, when the username is taken.
     */
    createConsuming(user: User, audit: AuditInput, record: { model: string; id: string; at: number }): Promise<boolean>;
  };
  readonly clients: EntityRepo<OAuthClient> & {
    /** The clients registered for an app in the developer portal (appId), by id. */
    listByApp(appId: string, query: PageQuery): Promise<Page<OAuthClient>>;
    /**
     * Creates the client unless its app (`appId`) has `max` clients already, counted in the
     * transaction that inserts it, so that creates made together cannot pass the limit (the portal's
     * `maxClientsPerApp`); false when the app is at it.
     */
    createWithin(client: OAuthClient, audit: AuditInput, max: number): Promise<boolean>;
  };
  readonly signingKeys: EntityRepo<SigningKey> & { all(): Promise<SigningKey[]> };
  readonly oidc: OidcModelRepo;
  readonly revocations: RevocationRepo;
  readonly requestLog: RequestLogRepo;
  readonly usageAnalytics: UsageAnalyticsRepo;
  readonly events: EventOutboxRepo;
  readonly exchangedTokens: ExchangedTokenRepo;
  readonly keyRotation: KeyRotationRepo;
  readonly webhooks: WebhookRepo;
  readonly consoleSessions: ConsoleSessionRepo;
  /** Applies pending migrations; returns how many ran. */
  migrate(): Promise<number>;
  /** One cheap round trip to the engine (readiness probes, telemetry/engine-probes.ts); rejects when it cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A web-app session (control/console/: the backend-for-frontend). The browser holds only its id, in a
 * cookie; the store keeps the id's keyed hash (HMAC-SHA-256 under a key derived from the master key)
 * and the OAuth tokens sealed (AES-256-GCM, bound to that hash), so a copy of the database can neither
 * be presented as a session nor yields a token.
 */
export interface ConsoleSession {
  idHash: string;
  userId: string;
  /** The tokens (access, refresh, ID), sealed: opaque to the store. */
  sealedTokens: string;
  /** When the access token expires: the next request after it refreshes the tokens. */
  accessExpiresAt: number;
  createdAt: number;
  lastSeenAt: number;
  /** The absolute end, fixed at sign-in. */
  expiresAt: number;
  /** The idle end: moved forward by use, never past `expiresAt`. */
  idleExpiresAt: number;
}

export interface ConsoleSessionRepo {
  /** Records a new session with its audit entry (the sign-in), in one transaction. */
  create(session: ConsoleSession, audit: AuditInput): Promise<void>;
  /** The session, unless either end has passed at `now`. */
  get(idHash: string, now: number): Promise<ConsoleSession | null>;
  /** A use: `lastSeenAt` and the idle end move forward. false when the session is gone. */
  touch(idHash: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean>;
  /**
   * Tokens after a refresh, stored only if the session still holds `expectedSealed` (the tokens it was
   * refreshed from): false when they changed meanwhile or the session is gone.
   */
  replaceTokens(idHash: string, expectedSealed: string, sealedTokens: string, accessExpiresAt: number): Promise<boolean>;
  /**
   * Claims the refresh of a session's tokens until `until`, for one node at a time: only if it still
   * holds `expectedSealed` and no other claim stands at `now`. false when another node holds one, the
   * tokens changed or the session is gone. `replaceTokens` ends the claim, and so does `releaseRefresh`.
   */
  claimRefresh(idHash: string, expectedSealed: string, now: number, until: number): Promise<boolean>;
  /** Ends the claim made until `until` (a refresh that could not be made): the next request may claim at once. */
  releaseRefresh(idHash: string, until: number): Promise<void>;
  /** Ends a session; with an audit entry (a sign-out) in the same transaction. false when it was not there. */
  delete(idHash: string, audit: AuditInput | null): Promise<boolean>;
  /** Ends every session of a user (signed out everywhere, disabled, deleted); returns how many. */
  deleteForUser(userId: string): Promise<number>;
  /** A user's live sessions at `now`, newest first. */
  listForUser(userId: string, now: number): Promise<ConsoleSession[]>;
  /** Deletes sessions past either end at `now`; returns how many. */
  deleteExpired(now: number): Promise<number>;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface PageQuery {
  limit: number;
  cursor?: string | undefined;
}

export interface EntityRepo<T extends { id: string }> {
  create(entity: T, audit: AuditInput): Promise<void>;
  get(id: string): Promise<T | null>;
  list(query: PageQuery): Promise<Page<T>>;
  /** Replaces the stored entity; false when it does not exist. */
  update(entity: T, audit: AuditInput): Promise<boolean>;
  /** Deletes the entity with its audit entry (see DeleteAudit); false, with no entry, when it does not exist. */
  delete(id: string, audit: DeleteAudit<T>): Promise<boolean>;
}

/**
 * A delete's audit entry. Made from the record as the delete's transaction removes it (a function),
 * the entry's `before` is what was deleted: a change stored between the caller's read and the delete
 * (another edit, the delivery task's disable) is in it, where the copy read before would record a
 * state that no longer existed. Services pass a function; a plain entry is recorded as given.
 */
export type DeleteAudit<T> = AuditInput | ((deleted: T) => AuditInput);

export const deleteAuditOf = <T>(audit: DeleteAudit<T>, deleted: T): AuditInput => (typeof audit === 'function' ? audit(deleted) : audit);

export interface NamedPageQuery extends PageQuery {
  /** Only entities with exactly this name: how a name people use is turned into the id references take. */
  name?: string | undefined;
}

/** APIs, apps and policies have names people call them by (an app's need not be unique); their lists filter by name. */
export interface NamedEntityRepo<T extends { id: string }> extends EntityRepo<T> {
  list(query: NamedPageQuery): Promise<Page<T>>;
}

export interface UserListQuery extends PageQuery {
  /** true: only accounts waiting for an operator's approval (portal sign-up with `approval`); false: only the others. */
  pendingApproval?: boolean | undefined;
}

export type KeyStatusFilter = 'active' | 'disabled' | 'expired' | 'revoked';

export interface KeyListQuery extends PageQuery {
  appId?: string | undefined;
  apiId?: string | undefined;
  environment?: string | undefined;
  status?: KeyStatusFilter | undefined;
  /** true: only keys flagged as exposed (`exposedAt` set); false: only keys never flagged. */
  exposed?: boolean | undefined;
  /**
   * true: only keys `rotation_due` at `now` (domain/rotation.ts: active or disabled, older than the
   * period of their own rotation rule, else their policy's); false: every other key.
   */
  rotationDue?: boolean | undefined;
  /**
   * Only keys expiring soon: not revoked at `now`, with an expiry after `now` and at or before this
   * time (epoch ms). Keys already expired are the `expired` status, not "expiring".
   */
  expiresBefore?: number | undefined;
  /** Only keys that name this policy (whatever their status): what a policy's change or deletion reaches. */
  policyId?: string | undefined;
  /** Reference time for the status, rotation and expiry filters. */
  now: number;
}

export interface KeyRepo extends Omit<EntityRepo<ApiKey>, 'list' | 'update'> {
  /**
   * Replaces the stored key; false when it does not exist, or when `readAt` (the `updatedAt` of the
   * key as the change read it) is given and the stored key has changed since: a change made from an
   * older read never overwrites a newer one (a disable, a rotation). Whatever the read, a stored
   * revocation or successor is never cleared or replaced (revoked and rotated are final).
   */
  update(key: ApiKey, audit: AuditInput, readAt?: number): Promise<boolean>;
  /**
   * Creates the key unless its app already has `inUse` keys in use at `now` (neither revoked nor
   * expired: active, disabled or in a rotation's grace), counted in the transaction that inserts it,
   * so that creates made at the same time, on one node or several, take turns and cannot pass the
   * limit together (the portal's `maxKeysPerApp`); false when the app is at it.
   */
  createWithin(key: ApiKey, audit: AuditInput, inUse: number, now: number): Promise<boolean>;
  findByHash(hash: string): Promise<ApiKey | null>;
  /**
   * The keys with these ids that exist, in any order, in one read (one statement, one round trip):
   * the key cache reads the keys it refreshes together, not one transaction each.
   */
  getByIds(ids: readonly string[]): Promise<ApiKey[]>;
  list(query: KeyListQuery): Promise<Page<ApiKey>>;
  /**
   * Stores the successor and the updated predecessor, with the audit entries (the rotation's, the
   * successor's own), in one transaction; false, with nothing written, when the predecessor
   * is gone, revoked or rotated already, or (with `readAt`, as for update) changed since it was read.
   * The one exception to "rotated already": `supersedes`, a rotated key's stored successor that no
   * longer works, which `successor` takes the place of (`previous.replacedBy`). Written only while the
   * stored key still names it as its successor and, in the same transaction, it does not exist or is
   * revoked or expired at `successor.createdAt`: a working successor is never replaced (as
   * KeyCompromise.supersedes).
   */
  rotate(previous: ApiKey, successor: ApiKey, audit: AuditInput | readonly AuditInput[], readAt?: number, supersedes?: string): Promise<boolean>;
  /**
   * Retires a drained key (rotation's drain task): stores `revoked` (its `revokedAt` set) only while,
   * in the same transaction, the stored key is the one read (`readAt`, as for update) and not revoked,
   * and key `workingId` works at `revoked.revokedAt` (exists, not revoked, not expired, enabled:
   * domain/key-lifecycle.ts keyWorks), so a successor revoked, disabled or deleted between the
   * caller's check and this write never leaves the line with no working key. false, with nothing
   * written, otherwise; a change to `workingId` made at the same time waits for this one or is seen.
   */
  revokeWhileWorking(revoked: ApiKey, workingId: string, audit: AuditInput, readAt: number): Promise<boolean>;
  /**
   * A key of the lineage (`lineageId`, domain/entities.ts lineageOf) other than `except` that is in a
   * rotation's grace at `now` (key-lifecycle.ts `rotating`: not revoked, a successor stored, not
   * expired), the one whose grace ends last; null when none. The one-rotation-in-grace rule walks back
   * through `rotatedFrom`; a key deleted mid-lineage breaks that walk, and this finds what lies beyond.
   */
  inGrace(lineageId: string, now: number, except: string): Promise<ApiKey | null>;
  /** Keys not revoked whose expiry is after `after` and at or before `until` (epoch ms), soonest first, at most `limit`: the expiry scan's window. */
  expiringBetween(after: number, until: number, limit: number): Promise<ApiKey[]>;
  /**
   * A compromised key, in one transaction: the key stored as revoked, its replacement (if any)
   * created, every token exchanged from it that has not expired by `revoked.revokedAt` put on the
   * revocation list (kind 'token', kept until the token's expiry) and marked revoked, and the audit
   * entries `audit` makes from the ids of the tokens revoked. null when the key does not exist, or
   * (with `readAt`, as for update) changed since it was read: the replacement copies the key as read.
   * The one exception to "a stored successor is never replaced": `supersedes` (see KeyCompromise).
   */
  compromise(
    change: KeyCompromise,
    audit: (revokedTokens: readonly string[]) => readonly AuditInput[],
    readAt?: number,
  ): Promise<{ revokedTokens: string[] } | null>;
  /**
   * Deletes an app whose keys are all out of use at `now` (revoked or expired: none active, disabled
   * or in a rotation's grace), with those keys, in one transaction: each key as `delete` deletes it,
   * with the audit entry `keyAudit` makes for it, then the app with `audit`. The audit log keeps
   * every entry about them. Nothing changes when the app does not exist (`missing`) or still has a
   * key in use (`keys-in-use`), counted in the transaction, so a key created meanwhile is never lost.
   */
  deleteAppWithRetiredKeys(
    appId: string,
    now: number,
    keyAudit: (key: ApiKey) => AuditInput,
    audit: DeleteAudit<App>,
  ): Promise<{ deleted: true; keyIds: string[] } | { deleted: false; why: 'missing' | 'keys-in-use' }>;
}

export interface KeyCompromise {
  /** The key as stored from now on: `revokedAt` set (also the tokens' revocation time), `replacedBy` naming the replacement. */
  revoked: ApiKey;
  /** A new key with the old one's settings and a new secret; null when none is made (a rotated key's successor still works). */
  replacement: ApiKey | null;
  /**
   * The stored successor of a rotated key that no longer works, which `replacement` takes the place of
   * (`revoked.replacedBy`). Written only while the stored key still names it as its successor and, in
   * the same transaction, it does not exist or is revoked or expired at `revoked.revokedAt`: a working
   * successor is never replaced (null otherwise). Absent: the key must have no successor stored.
   */
  supersedes?: string;
}

/**
 * An access token Gatehouse's authorization server exchanged for an API key (RFC 8693): its `jti`, and
 * what it was for. Recorded with the exchange, so a compromised key's tokens can be found and revoked,
 * and an incident report can list them. Nothing secret: the token itself is never stored.
 */
export interface ExchangedToken {
  jti: string;
  keyId: string;
  clientId: string;
  audience: string;
  /** Space-separated scopes granted ('' for none). */
  scope: string;
  issuedAt: number;
  expiresAt: number;
  /** When it was revoked with its key (KeyRepo.compromise); null while it was not. */
  revokedAt: number | null;
}

export interface ExchangedTokenRepo {
  /** Records a token exchanged for a key with the exchange's audit entry, in one transaction. */
  record(token: ExchangedToken, audit: AuditInput): Promise<void>;
  /** The tokens exchanged from a key, newest first (issue time, then jti); `cursor` is an earlier page's `nextCursor`. */
  listByKey(keyId: string, query: PageQuery): Promise<Page<ExchangedToken>>;
  /** Deletes at most `limit` tokens that expired before `at`, oldest first; returns how many. */
  deleteExpiredBefore(at: number, limit: number): Promise<number>;
}

export interface AdminKeyRepo {
  create(key: AdminKey, audit: AuditInput): Promise<void>;
  findByHash(hash: string): Promise<AdminKey | null>;
  list(): Promise<AdminKey[]>;
  revoke(id: string, at: number, audit: AuditInput): Promise<boolean>;
}

export interface AuditQuery extends PageQuery {
  targetId?: string | undefined;
  action?: string | undefined;
}

/**
 * The outbox of webhook events (domain/events.ts). A change writes its events with its audit entry,
 * in its transaction (AuditInput.events); `append` records events that no change causes. Delivery
 * reads them in `seq` order and keeps its own place, so nothing here changes once recorded.
 */
export interface EventOutboxRepo {
  /**
   * Records events in one transaction; one whose `dedupeKey` was recorded before is skipped.
   * Returns the events recorded, in order.
   */
  append(events: readonly EventInput[]): Promise<OutboxEvent[]>;
  /** Events with `seq` greater than `afterSeq` (0: from the first), in order, at most `limit`. */
  after(afterSeq: number, limit: number): Promise<OutboxEvent[]>;
  get(id: string): Promise<OutboxEvent | null>;
  /** Deletes at most `limit` events recorded before `at` (epoch ms), oldest first; returns how many. */
  deleteBefore(at: number, limit: number): Promise<number>;
}

export interface WebhookDeliveryQuery extends PageQuery {
  endpointId: string;
  status?: DeliveryStatus | undefined;
  eventId?: string | undefined;
}

/**
 * Webhook endpoints and their deliveries (control/webhooks/). Delivery keeps its place in the event
 * outbox (`cursor`), turns each event into one delivery per subscribed endpoint (unique per event and
 * endpoint, so doing it twice after a crash changes nothing), and logs every attempt. Endpoint changes
 * and replays are audited; attempts are not (the delivery log is their record).
 */
export interface WebhookRepo extends Omit<EntityRepo<WebhookEndpoint>, 'update'> {
  /**
   * Replaces the endpoint; false when it does not exist, or when `readAt` (the `updatedAt` of the
   * endpoint as the change read it) is given and the stored one has changed since: a change made from
   * an older read never overwrites a newer one (the delivery task's disable, another edit). The run of
   * failures is the delivery task's (recordAttempt): kept as stored whatever the copy holds, and set
   * to 0 only with `resetFailures` (an endpoint enabled again). With `failuresAtLeast` (the delivery
   * task's disable), written only while the stored run is still that long: a delivery that succeeded
   * since the read ended it without changing `updatedAt`, and the endpoint works.
   */
  update(endpoint: WebhookEndpoint, audit: AuditInput, options?: { readAt?: number; resetFailures?: boolean; failuresAtLeast?: number }): Promise<boolean>;
  /** Every endpoint, by id: there are few, and delivery matches each event against them. */
  all(): Promise<WebhookEndpoint[]>;
  /** The endpoints scoped to an app (a developer's, made in the portal), by id. */
  listByApp(appId: string, query: PageQuery): Promise<Page<WebhookEndpoint>>;
  /**
   * Creates the endpoint unless its app (`appId`) has `max` endpoints already, counted in the
   * transaction that inserts it, so that creates made together cannot pass the limit (the portal's
   * `maxWebhooksPerApp`); false when the app is at it.
   */
  createWithin(endpoint: WebhookEndpoint, audit: AuditInput, max: number): Promise<boolean>;
  /** The last outbox `seq` turned into deliveries (0: none yet). */
  cursor(): Promise<number>;
  /**
   * In one transaction: the deliveries (one already there for its event and endpoint is skipped) and
   * the cursor moved to `throughSeq` (never backwards). Returns how many were new.
   */
  enqueue(deliveries: readonly WebhookDelivery[], throughSeq: number): Promise<number>;
  /**
   * Claims at most `limit` pending deliveries due at `now` to enabled endpoints, soonest first, with their
   * events: each is due again only after `leaseMs` (unless its attempt is recorded first), so two
   * senders on one store do not send the same one, and one that stops mid-attempt loses nothing.
   */
  due(now: number, limit: number, leaseMs: number): Promise<{ delivery: WebhookDelivery; event: OutboxEvent }[]>;
  /**
   * Logs an attempt and moves its delivery on (delivered, pending until `nextAttemptAt`, or failed), and
   * the endpoint's run of failures with it: reset by a delivery, one more by a failure. Returns the run.
   */
  recordAttempt(attempt: DeliveryAttempt, next: { status: DeliveryStatus; nextAttemptAt: number | null }): Promise<number>;
  getDelivery(id: string): Promise<WebhookDelivery | null>;
  /** An endpoint's deliveries, newest first. */
  deliveries(query: WebhookDeliveryQuery): Promise<Page<WebhookDelivery>>;
  /** A delivery's attempts, oldest first. */
  attempts(deliveryId: string): Promise<DeliveryAttempt[]>;
  /** The delivery is due again at `now`, in a new round of attempts; false when there is no such delivery. */
  replay(deliveryId: string, now: number, audit: AuditInput): Promise<boolean>;
  /**
   * Every outbox event of the endpoint's types recorded in [from, until) (about its app only, for an
   * endpoint scoped to one) is due at `now` to it: a new delivery, or a new round of the one there.
   * Returns how many; with more than `limit` of its types, changes nothing and returns `limit + 1`.
   */
  replayRange(
    endpoint: Pick<WebhookEndpoint, 'id' | 'events' | 'appId'>,
    from: number,
    until: number,
    now: number,
    audit: AuditInput,
    limit: number,
  ): Promise<number>;
  /** Deletes at most `limit` finished deliveries (with their attempts) created before `at`; returns how many. */
  deleteFinishedBefore(at: number, limit: number): Promise<number>;
}

/** A key the rotation scan looks at: its effective rule (its own, else its policy's) and the notice recorded for it. */
export interface RotationCandidate {
  key: ApiKey;
  rule: RotationRule;
  notice: RotationNotice | null;
}

/** Rotation hygiene (docs/rotation.md): the periodic scan's reads, its record of announcements, and keys retiring when drained. */
export interface KeyRotationRepo {
  /**
   * The next `limit` keys by id after `cursor` ('' from the first), of which those not revoked with a
   * rotation rule are returned; `nextCursor` resumes after the last key read (null: the scan reached the
   * end). Reads at most `limit` keys whatever the rules, so one call's work is bounded.
   */
  scan(cursor: string, limit: number): Promise<{ items: RotationCandidate[]; nextCursor: string | null }>;
  /**
   * Records the key's `key.rotation_due` notice (for its due date, when) and the event, in one transaction.
   * Returns false when the event's dedupe key was recorded before (the notice is recorded either way),
   * or when the key no longer exists (nothing is recorded).
   */
  recordNotice(keyId: string, notice: RotationNotice, event: EventInput): Promise<boolean>;
  /**
   * Rotated keys set to retire when drained (`retireWhenDrained`), not revoked and still inside their
   * grace period at `now`, by grace end then id, after `cursor` (a previous page's nextCursor).
   */
  draining(now: number, query: PageQuery): Promise<Page<ApiKey>>;
}

export interface AuditRepo {
  /** Records an event that changes no entity here: a sign-in, a failed sign-in, a token revoked (with its webhook events, in one transaction). */
  append(audit: AuditInput): Promise<void>;
  /** Newest first. */
  list(query: AuditQuery): Promise<Page<AuditEntry>>;
  /**
   * Entries in the order they were committed, after `afterSeq` (0: from the first), at most `limit`:
   * what changed, for nodes that read the store to learn of changes made on other nodes.
   */
  after(afterSeq: number, limit: number): Promise<AuditChange[]>;
  /** The seq of the last entry committed (0: none), where a node that has just loaded everything starts. */
  lastSeq(): Promise<number>;
}

/** One audited change, as the change feed reads it. */
export interface AuditChange {
  /** Commit order: larger is later, on every node. */
  seq: number;
  at: number;
  action: string;
  targetType: AuditEntry['targetType'];
  targetId: string;
}

/** Usage flushed in batches from the in-memory counters; never written on the request path. */
export interface UsageBatch {
  /** `lastUsedFrom`: the client address of the latest use counted (absent: not known, e.g. a verify call). */
  keys: { keyId: string; day: string; requests: number; lastUsedAt: number; lastUsedFrom?: string | null }[];
  // Counts are deltas since the previous batch, so batches add up whatever their order.
  /**
   * Quota use belongs to a key's lineage (the key and its rotations' successors): counted by lineage id.
   * `limit` and `resetsAt` (epoch ms): the quota the gateway held the lineage to at its latest use counted,
   * so quota.threshold webhooks compare the totals with it and read no rule; stores ignore them.
   */
  quotas: { lineageId: string; period: string; delta: number; limit?: number; resetsAt?: number }[];
  /** Quotas an API counts per app or user (not per key), by counter name. */
  counters?: { counter: string; period: string; delta: number }[];
  /** Uses per key and client address since the previous batch (key-addresses.ts says how they are kept). */
  addresses?: KeyAddressUse[];
  /** Addresses an adapter keeps per key (default ADDRESSES_PER_KEY); uses from others count under OTHER_ADDRESSES. */
  addressesPerKey?: number;
  /**
   * Which quota totals to answer (domain/quota-threshold.ts totalWanted): absent, every one; else only
   * those of lineages `quotas` gives a limit, once their use reached this percent of it.
   */
  totalsFromPercent?: number;
}

/**
 * Uses of one key from one client address: first and last seen (epoch ms) and how many requests.
 * The row for OTHER_ADDRESSES counts the uses from addresses past the per-key cap, so the totals
 * stay exact when a key is called from very many addresses.
 */
export interface KeyAddressUse {
  keyId: string;
  address: string;
  firstSeen: number;
  lastSeen: number;
  requests: number;
}

/** Not an IP address: the row of a key's uses from addresses past its cap. */
export const OTHER_ADDRESSES = '*';
export const ADDRESSES_PER_KEY = 1000;

/**
 * Where each key was used from (the drain view of a rotating key, an incident's list of addresses).
 * Written only by usage batches (UsageRepo.record, in their transaction); rows go with their key
 * and, once not seen for the retention period, with `deleteSeenBefore`.
 */
export interface KeyAddressRepo {
  /** A key's addresses (never the OTHER_ADDRESSES row), last seen newest first, then by address; `cursor` is an earlier page's `nextCursor`. */
  list(keyId: string, query: PageQuery): Promise<Page<KeyAddressUse>>;
  /** The key's OTHER_ADDRESSES row; null when every use came from an address it keeps. */
  others(keyId: string): Promise<KeyAddressUse | null>;
  /** Addresses (OTHER_ADDRESSES not counted) last seen at or after `at`, and whether OTHER_ADDRESSES was. */
  countSeenSince(keyId: string, at: number): Promise<{ addresses: number; others: boolean }>;
  /** Deletes at most `limit` rows last seen before `at`, those of the oldest (UTC) days first; returns how many. */
  deleteSeenBefore(at: number, limit: number): Promise<number>;
}

/** A lineage's quota use once a batch is written: every node's counts, read in the batch's transaction. */
export interface QuotaTotal {
  lineageId: string;
  period: string;
  used: number;
}

export interface UsageRepo {
  /**
   * Returns the quota totals the batch changed (lineages with no key left count nothing and are
   * absent), all of them or those `batch.totalsFromPercent` asks for.
   */
  record(batch: UsageBatch): Promise<QuotaTotal[]>;
  quotaUsed(lineageId: string, period: string): Promise<number>;
  counterUsed(counter: string, period: string): Promise<number>;
  requestsByDay(keyId: string): Promise<{ day: string; requests: number }[]>;
}

/** The health component every store adapter reports to: critical, since nothing works without the store. */
export const STORE_COMPONENT = 'store';

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/**
 * The storage engine cannot do its work now (disk full or read-only, I/O error, locked past the busy
 * timeout, connection lost). Nothing was written. Adapters throw it with the engine's own error as
 * `cause`, so the log keeps the real reason; callers answer 503 and readiness reports it.
 */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/**
 * The authorization server's short-lived records (sessions, codes, refresh tokens, grants...): an
 * opaque payload per model and id. The layer above (control/authorization/oidc-records.ts) decides
 * what ids and payloads are: ids are keyed hashes of the secrets, payloads sealed, so an adapter
 * stores and compares opaque strings and never sees a usable secret. It indexes four payload
 * fields when they are strings: `grantId`, `uid`, `userCode` and `accountId`. `find` and the lookups
 * add `consumed` (epoch seconds) to a consumed record's payload. Expired records are never returned
 * and are deleted by `deleteExpired`.
 */
export interface OidcModelRepo {
  upsert(model: string, id: string, payload: OidcPayload, expiresAt: number | null): Promise<void>;
  find(model: string, id: string, now: number): Promise<OidcPayload | null>;
  findByUid(model: string, uid: string, now: number): Promise<OidcRecord | null>;
  findByUserCode(model: string, userCode: string, now: number): Promise<OidcRecord | null>;
  /**
   * Marks the record consumed (a code or rotated refresh token used once); it stays findable. True
   * when this call consumed it; false when it was consumed already (or is not there): one atomic
   * step, so of two concurrent uses exactly one is told it consumed the record. `by`, when given, is a
   * value unique to this consume (random), kept with it for `unconsume`: `at` is a time in milliseconds,
   * and two consumes of one record may be stamped the same one.
   */
  consume(model: string, id: string, at: number, by?: string): Promise<boolean>;
  /**
   * Undoes a consume whose purpose failed (the request it was consumed for failed, or the consume's own
   * answer was lost): unconsumed again, only if it is still consumed as of `at` and by `by` (that
   * consume's stamp and unique value; without `by`, a consume made without one). True when given back.
   */
  unconsume(model: string, id: string, at: number, by?: string): Promise<boolean>;
  /**
   * `find`, with the record's version: 1 when it is first written, one more at each write of its payload
   * since (upsert, upsertIfVersion). What `upsertIfVersion` compares.
   */
  findVersioned(model: string, id: string, now: number): Promise<{ payload: OidcPayload; version: number } | null>;
  /**
   * `upsert`, only if the record is still at `version` (null: only if there is none): one atomic step,
   * so a read-change-write never undoes a concurrent one. True when written; false when it was written
   * or deleted since it was read (read it again and redo the change).
   */
  upsertIfVersion(model: string, id: string, payload: OidcPayload, expiresAt: number | null, version: number | null): Promise<boolean>;
  destroy(model: string, id: string): Promise<void>;
  /** Deletes every record of the model that belongs to the grant. */
  revokeByGrantId(model: string, grantId: string): Promise<void>;
  /**
   * Revokes a grant in one transaction: lists it (`revocations`, kind 'grant'), deletes its records of
   * `models`, and the grant record itself when `withGrant`. All or nothing: a failure part-way must not
   * delete the code or refresh token whose reuse revealed a theft while the grant lives on, because
   * then nothing could ever revoke it (RFC 9700 §4.14.2).
   */
  revokeGrant(revocation: GrantRevocation): Promise<void>;
  /** Live records of one model in one grant (consumed ones included), oldest first. */
  listByGrant(model: string, grantId: string, now: number): Promise<OidcRecord[]>;
  /** Live records of one model for one account (a user's grants and sessions), newest first. */
  listByAccount(model: string, accountId: string, now: number): Promise<OidcRecord[]>;
  deleteExpired(now: number): Promise<number>;
}

export interface GrantRevocation {
  grantId: string;
  models: readonly string[];
  withGrant: boolean;
  revokedAt: number;
  /** Until when the grant stays on the revocation list (Revocation.expiresAt). */
  expiresAt: number;
}

export interface OidcRecord {
  id: string;
  payload: OidcPayload;
}

export type OidcPayload = Record<string, unknown>;

/**
 * Revoked grants and access-token ids, kept until the last token they could cover has expired, so a
 * verifier holding only JWTs (the gateway) can refuse them. Read by time, so a reader polls cheaply.
 */
export interface Revocation {
  kind: 'grant' | 'token';
  id: string;
  revokedAt: number;
  expiresAt: number;
}

export interface RevocationRepo {
  add(revocation: Revocation): Promise<void>;
  /** Revocations made at or after `at` and not yet expired at `now`, oldest first. */
  since(at: number, now: number): Promise<Revocation[]>;
  deleteExpired(now: number): Promise<number>;
}

/**
 * One gateway request, as the request log keeps it (requests/request-entry.ts makes it from the
 * gateway's record): nothing secret, no query value unless the API opted in. Times are epoch ms.
 */
export interface RequestLogEntry {
  at: number;
  requestId: string;
  traceId: string | null;
  apiId: string | null;
  api: string | null;
  route: string | null;
  method: string;
  path: string;
  /** Without its `?`: parameter names only, or (opted in) names and values with credentials removed; null for none. */
  query: string | null;
  status: number;
  denialCode: string | null;
  durationMs: number;
  upstreamMs: number | null;
  bytesIn: number;
  bytesOut: number;
  keyId: string | null;
  appId: string | null;
  user: string | null;
  clientId: string | null;
  address: string;
  userAgent: string | null;
}

/** Every field of a request-log entry, in one order: the store's columns and the writer's packing follow it. */
export const REQUEST_LOG_FIELDS = [
  'at',
  'requestId',
  'traceId',
  'apiId',
  'api',
  'route',
  'method',
  'path',
  'query',
  'status',
  'denialCode',
  'durationMs',
  'upstreamMs',
  'bytesIn',
  'bytesOut',
  'keyId',
  'appId',
  'user',
  'clientId',
  'address',
  'userAgent',
] as const satisfies readonly (keyof RequestLogEntry)[];

export interface RequestLogFilters {
  /** At or after (epoch ms). */
  since?: number | undefined;
  /** Before (epoch ms). */
  until?: number | undefined;
  keyId?: string | undefined;
  appId?: string | undefined;
  /** The API's id or name. */
  api?: string | undefined;
  user?: string | undefined;
  clientId?: string | undefined;
  /** Statuses from `min` to `max`, both included: one status, or a class such as 4xx. */
  status?: { min: number; max: number } | undefined;
  address?: string | undefined;
  denialCode?: string | undefined;
}

/**
 * The request log. Written in batches by the writer thread (never on the request path), read by the
 * admin API newest first, and cut from the old end by the retention task, a bounded part at a time
 * so no transaction holds the write lock for long.
 */
export interface RequestLogRepo {
  /**
   * Entries as the request log's buffer encoded them (entry-batch.ts): each adapter keeps them its
   * own way (SQLite as the batch it is, PostgreSQL as rows). Throws on bytes it cannot read.
   */
  append(batch: EntryBatch): Promise<void>;
  /** Newest first (time, then arrival); `cursor` is an earlier page's `nextCursor`. */
  query(filters: RequestLogFilters, page: PageQuery): Promise<Page<RequestLogEntry>>;
  /**
   * Deletes entries from before `day` (YYYY-MM-DD, UTC), oldest first, about `limit` at a time; returns
   * how many. An adapter that keeps entries in the batches they were appended in deletes whole
   * batches, each once all of it is from before `day`, and the oldest even when it alone holds more.
   */
  deleteBefore(day: string, limit: number): Promise<number>;
}

/** The dimensions usage is counted by (docs/observability/usage.md). */
export const USAGE_DIMENSIONS = ['key', 'app', 'api', 'route', 'statusClass', 'denialCode'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];
export type UsageGranularity = 'minute' | 'hour' | 'day';
/** `2xx`..`5xx` by the status sent, `1xx` never (interim answers are not the answer), `0` when none was sent. */
export type StatusClass = '0' | '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

/** The counts of one combination of dimensions: added into rollups, read back summed. */
export interface UsageCounts {
  requests: number;
  bytesIn: number;
  bytesOut: number;
  /** Summed request durations in whole microseconds: integers, so every rollup adds up exactly. */
  durationUs: number;
  /** Requests per latency bucket (domain/latency-histogram.ts), always LATENCY_BUCKETS long: summed, they give percentiles over any range. */
  latency: number[];
}

/**
 * One counter cell: a UTC minute and one combination of dimensions, with its counts since the last
 * flush (deltas: cells add up whatever their order). null: the request had none (no API matched, no key).
 */
export interface UsageCell extends UsageCounts {
  /** The minute's start, epoch ms. */
  minute: number;
  apiId: string | null;
  route: string | null;
  keyId: string | null;
  appId: string | null;
  statusClass: StatusClass;
  denialCode: string | null;
}

/** An exact value of a dimension, or null for "none" (no key, no API, forwarded without denial). */
export type UsageFilters = { [D in UsageDimension]?: string | null };

export interface UsageQuery {
  /** Which rollup is read. */
  granularity: UsageGranularity;
  /** Bucket starts, epoch ms: `from` included, `until` excluded; both on the granularity's boundaries. */
  from: number;
  until: number;
  groupBy: readonly UsageDimension[];
  filters: UsageFilters;
  /** true: a row per bucket and group; false: one per group over the whole range. */
  perBucket: boolean;
  /** Rows answered at most; one more is read, so a caller can tell the answer was cut. */
  limit: number;
}

export interface UsageRow extends UsageCounts {
  /** The bucket's start (epoch ms), or null when the query asked for totals over the range. */
  bucket: number | null;
  /** The value of each grouped dimension (only those), null for "none". */
  group: UsageFilters;
}

/**
 * Request counts by minute, rolled up per hour and per day when written (so every granularity is
 * exact by construction), kept per granularity for a configured time. Written by the writer thread
 * in batches; read on the reader thread; old buckets deleted a bounded part at a time.
 */
export interface UsageAnalyticsRepo {
  /** Adds every cell into its minute, hour and day rows (UTC), in one transaction. */
  add(cells: readonly UsageCell[]): Promise<void>;
  /** Summed counts, ordered by bucket then group values; at most `limit + 1` rows. */
  query(query: UsageQuery): Promise<UsageRow[]>;
  /** Deletes at most `limit` rows of the granularity with buckets before `before` (epoch ms); returns how many. */
  deleteBefore(granularity: UsageGranularity, before: number, limit: number): Promise<number>;
}
