import { createBearerHash } from '../../domain/bearer-hash.ts';
import { createSecretBox } from '../../domain/secret-box.ts';
import type { GrantRevocation, OidcModelRepo, OidcPayload } from '../../store/port.ts';

/** A record found by a list: `ref` is what it is stored under, since its secret id is not kept. */
export interface StoredRecord {
  ref: string;
  payload: OidcPayload;
}

/**
 * The authorization server's records (oidc-provider's models and our pending second factors) as the
 * code above the store sees them: by the ids handed to clients and browsers. Below, in the store,
 * there is no usable secret: a record is kept under the keyed hash of its id, and its payload is
 * sealed (AES-256-GCM, bound to the model and the stored id), so a copy of the database yields
 * neither tokens nor the grants, claims and user codes inside them.
 */
export interface OidcRecords {
  upsert(model: string, id: string, payload: OidcPayload, expiresAt: number | null): Promise<void>;
  /** The payload with `jti` set to the id it was found by, and `consumed` (epoch seconds) once consumed. */
  find(model: string, id: string, now: number): Promise<OidcPayload | null>;
  /** Found by uid: the payload has no `jti` (not kept); oidc-provider only reads a session found this way. */
  findByUid(model: string, uid: string, now: number): Promise<OidcPayload | null>;
  findByUserCode(model: string, userCode: string, now: number): Promise<OidcPayload | null>;
  /** True when this call consumed the record (OidcModelRepo.consume; `by`: a value unique to this consume). */
  consume(model: string, id: string, at: number, by?: string): Promise<boolean>;
  /** Gives back a consume (OidcModelRepo.unconsume), by the stored ref, its stamp and unique value. */
  unconsumeStored(model: string, ref: string, at: number, by?: string): Promise<boolean>;
  /** `find`, with the record's version (OidcModelRepo.findVersioned). */
  findVersioned(model: string, id: string, now: number): Promise<{ payload: OidcPayload; version: number } | null>;
  /** `upsert`, only if the record is still at `version` (null: only if there is none); true when written. */
  upsertIfVersion(model: string, id: string, payload: OidcPayload, expiresAt: number | null, version: number | null): Promise<boolean>;
  destroy(model: string, id: string): Promise<void>;
  revokeByGrantId(model: string, grantId: string): Promise<void>;
  /** Lists a grant revoked and deletes its records, in one transaction (OidcModelRepo.revokeGrant). */
  revokeGrant(revocation: GrantRevocation): Promise<void>;
  listByGrant(model: string, grantId: string, now: number): Promise<StoredRecord[]>;
  listByAccount(model: string, accountId: string, now: number): Promise<StoredRecord[]>;
  consumeStored(model: string, ref: string, at: number, by?: string): Promise<boolean>;
  destroyStored(model: string, ref: string): Promise<void>;
  /** What a record is stored under (its `ref`), for a store step that consumes it with another change. */
  refOf(model: string, id: string): string;
}

/**
 * Kept under their own ids: a grant id is a handle (the `gid` of access tokens, the admin API's grant
 * id) that no endpoint accepts as a credential, and the store's grant index must match it.
 */
const PLAIN_IDS: ReadonlySet<string> = new Set(['Grant']);
/**
 * Keep their id inside the sealed payload: a device code is found by the user code, and the device
 * flow goes on by the device code's id (oidc-provider keeps it in the interaction, sealed as well).
 */
const ID_SEALED: ReadonlySet<string> = new Set(['DeviceCode']);

export function createOidcRecords(repo: OidcModelRepo, masterKey: Buffer): OidcRecords {
  const hash = createBearerHash(masterKey);
  const box = createSecretBox(masterKey, 'oidc-record');
  const refOf = (model: string, id: string): string => (PLAIN_IDS.has(model) ? id : hash(id));
  const binding = (model: string, ref: string): string => `${model}\n${ref}`;

  /**
   * What the store keeps: the sealed payload, and beside it only what the store indexes. Grant and
   * account ids are not secrets; uid and user code are keyed hashes, like the id.
   */
  const envelope = (model: string, id: string, ref: string, payload: OidcPayload): OidcPayload => {
    const { jti, ...kept } = payload;
    if (jti !== undefined && jti !== id) throw new Error(`a ${model} record's jti must be its id`);
    if (jti !== undefined && ID_SEALED.has(model)) kept.jti = jti;
    // An interaction copies the session's id (`session.cookie`); oidc-provider never reads it back.
    if (model === 'Interaction' && isObject(kept.session)) {
      const { cookie: _cookie, ...session } = kept.session;
      kept.session = session;
    }
    return {
      sealed: box.seal(JSON.stringify(kept), binding(model, ref)),
      ...(typeof payload.grantId === 'string' ? { grantId: payload.grantId } : {}),
      ...(typeof payload.accountId === 'string' ? { accountId: payload.accountId } : {}),
      ...(typeof payload.uid === 'string' ? { uid: hash(payload.uid) } : {}),
      ...(typeof payload.userCode === 'string' ? { userCode: hash(payload.userCode) } : {}),
    };
  };

  /** Opens a stored envelope; throws when it was not sealed by this master key for this record. */
  const open = (model: string, ref: string, stored: OidcPayload, id: string | undefined): OidcPayload => {
    if (typeof stored.sealed !== 'string') throw new Error(`the ${model} record is not sealed`);
    const payload = JSON.parse(box.open(stored.sealed, binding(model, ref))) as OidcPayload;
    if (id !== undefined) payload.jti = id;
    if (stored.consumed !== undefined) payload.consumed = stored.consumed;
    return payload;
  };
  const listed =
    (model: string) =>
    (r: { id: string; payload: OidcPayload }): StoredRecord => ({
      ref: r.id,
      payload: open(model, r.id, r.payload, PLAIN_IDS.has(model) ? r.id : undefined),
    });

  return {
    async upsert(model, id, payload, expiresAt) {
      const ref = refOf(model, id);
      await repo.upsert(model, ref, envelope(model, id, ref, payload), expiresAt);
    },
    async find(model, id, now) {
      const ref = refOf(model, id);
      const stored = await repo.find(model, ref, now);
      return stored && open(model, ref, stored, id);
    },
    async findVersioned(model, id, now) {
      const ref = refOf(model, id);
      const stored = await repo.findVersioned(model, ref, now);
      return stored && { payload: open(model, ref, stored.payload, id), version: stored.version };
    },
    async upsertIfVersion(model, id, payload, expiresAt, version) {
      const ref = refOf(model, id);
      return repo.upsertIfVersion(model, ref, envelope(model, id, ref, payload), expiresAt, version);
    },
    async findByUid(model, uid, now) {
      const found = await repo.findByUid(model, hash(uid), now);
      return found && open(model, found.id, found.payload, PLAIN_IDS.has(model) ? found.id : undefined);
    },
    async findByUserCode(model, userCode, now) {
      const found = await repo.findByUserCode(model, hash(userCode), now);
      return found && open(model, found.id, found.payload, PLAIN_IDS.has(model) ? found.id : undefined);
    },
    consume: (model, id, at, by) => repo.consume(model, refOf(model, id), at, by),
    destroy: (model, id) => repo.destroy(model, refOf(model, id)),
    revokeByGrantId: (model, grantId) => repo.revokeByGrantId(model, grantId),
    // Grant ids are plain (PLAIN_IDS): the grant index matches them as they are.
    revokeGrant: (revocation) => repo.revokeGrant(revocation),
    listByGrant: async (model, grantId, now) => (await repo.listByGrant(model, grantId, now)).map(listed(model)),
    listByAccount: async (model, accountId, now) => (await repo.listByAccount(model, accountId, now)).map(listed(model)),
    consumeStored: (model, ref, at, by) => repo.consume(model, ref, at, by),
    unconsumeStored: (model, ref, at, by) => repo.unconsume(model, ref, at, by),
    destroyStored: (model, ref) => repo.destroy(model, ref),
    refOf,
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
