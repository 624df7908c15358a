import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type Provider from 'oidc-provider';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { StorageUnavailableError } from '../../store/port.ts';
import type { ClientDirectory } from './client-directory.ts';
import type { OidcRecords, StoredRecord } from './oidc-records.ts';
import type { RevocationJournal } from './revocation-journal.ts';

export interface OidcAdapterOptions {
  /** The records by their secret ids; stored under keyed hashes, sealed. */
  records: OidcRecords;
  clients: ClientDirectory;
  /** How long a revoked grant stays on the revocation list: the longest access-token lifetime. */
  revocationTtlMs: () => number;
  clock: () => number;
  /** Told when a grant is revoked, so caches of verified tokens can drop it at once. */
  onGrantRevoked: (grantId: string) => void;
  /**
   * For this long after a refresh token is used, presenting it again is taken as a retry (the
   * answer was lost), not as theft: it is refreshed again instead of revoking the grant. 0: off.
   */
  refreshReuseGraceMs: number;
  /**
   * Told when the adapter itself revoked a grant (for the audit log): a concurrent second use of a code
   * or refresh token, or a revocation retried after the store failed it (retryRevocations).
   */
  onReuseRevoked: (grantId: string) => void;
  /** Grant revocations the store failed, kept to be retried (retryRevocations); shared by every provider build. */
  pendingRevocations?: PendingRevocations;
  /** Give-backs of a failed request the store failed too, kept to be completed (retryGiveBacks); shared by every provider build. */
  pendingGiveBacks?: PendingGiveBacks;
}

/**
 * Grant revocations the store failed (away for a moment), by grant id, with whether the grant record
 * goes too. The reused token stays in the store, so presenting it again revokes the grant; this makes
 * sure it is revoked even if no one does (the thief holds its successor and has no reason to, RFC 9700
 * §4.14.2), retried in the background and reported to readiness until it holds. Journaled on the
 * node's local disk (RevocationJournal) before the request that saw the reuse is answered, and
 * restored at start, so a restart does not forget it either. A journal write that fails (the disk
 * full or read-only) leaves it in memory only, and is tried again with each retry and reported.
 */
export class PendingRevocations {
  readonly #grants = new Map<string, boolean>();
  readonly #journal: RevocationJournal | null;
  /** Grant ids whose journal file does not say what #grants does (its write or removal failed): synced again by each retry. */
  readonly #unsynced = new Set<string>();

  constructor(journal: RevocationJournal | null = null) {
    this.#journal = journal;
  }

  /** The revocations journaled before a restart, pending again; each file unreadable is reported and left. */
  async restore(onUnreadable: (file: string, error: unknown) => void): Promise<number> {
    const journaled = (await this.#journal?.load(onUnreadable)) ?? [];
    for (const { grantId, withGrant } of journaled) this.#grants.set(grantId, this.#grants.get(grantId) === true || withGrant);
    return journaled.length;
  }

  /** Pending, and journaled before it resolves (never rejects: a journal failure is kept for the retry to redo and report). */
  async add(grantId: string, withGrant: boolean): Promise<void> {
    this.#grants.set(grantId, this.#grants.get(grantId) === true || withGrant);
    // Not lost: #sync marks it unsynced, and the retry task writes it again and reports the failure.
    await this.#sync(grantId).catch(() => undefined);
  }

  get size(): number {
    return this.#grants.size;
  }

  entries(): [string, boolean][] {
    return [...this.#grants];
  }

  /** A revocation of the grant held: the pending one is done, unless it also had the grant record to delete and this one did not. */
  async settle(grantId: string, withGrant: boolean): Promise<void> {
    if (!this.#grants.has(grantId) || !(withGrant || this.#grants.get(grantId) === false)) return;
    this.#grants.delete(grantId);
    // As in add: a failed removal stays unsynced for the retry task to redo and report.
    await this.#sync(grantId).catch(() => undefined);
  }

  /** Stops journaling (the node is stopping): what is journaled stays for the next start, and nothing is written after. */
  close(): void {
    this.#journal?.close();
  }

  /** Syncs again each journal file a failure left out of step; rejects with the failures. */
  async resync(): Promise<void> {
    const failures: unknown[] = [];
    for (const grantId of [...this.#unsynced]) await this.#sync(grantId).catch((error: unknown) => failures.push(error));
    if (failures.length > 0)
      throw new AggregateError(failures, `${failures.length} pending grant revocation(s) could not be journaled to disk (lost on a restart)`);
  }

  async #sync(grantId: string): Promise<void> {
    if (!this.#journal) return;
    try {
      await this.#journal.sync(grantId, () => this.#grants.get(grantId));
      this.#unsynced.delete(grantId);
    } catch (error) {
      this.#unsynced.add(grantId);
      throw error;
    }
  }
}

/**
 * Retries each pending grant revocation; the ones that hold leave the list (and reach the audit log).
 * Rejects while any is still pending, or not journaled as it should be, so the background task
 * reports it to the log and to readiness.
 */
export async function retryRevocations(o: OidcAdapterOptions): Promise<void> {
  const pending = o.pendingRevocations;
  if (!pending) return;
  const failures: unknown[] = [];
  for (const [grantId, withGrant] of pending.entries()) {
    try {
      await revokeGrant(grantId, o, withGrant);
      o.onReuseRevoked(grantId);
    } catch (error) {
      failures.push(error);
    }
  }
  await pending.resync().catch((error: unknown) => failures.push(error));
  if (pending.size > 0) throw new AggregateError(failures, `${pending.size} grant revocation(s) the store failed are pending, retried until they hold`);
  if (failures.length > 0) throw new AggregateError(failures, 'the journal of pending grant revocations is out of step with them');
}

/**
 * oidc-provider's storage adapter (one instance per model) on Gatehouse's records. Clients are
 * not records: they come from the client directory, built from the admin-managed clients. Revoking
 * a grant's access tokens also lists the grant as revoked, because JWT access tokens are not stored
 * and a verifier can only refuse them by their grant id.
 */
export function createOidcAdapterFactory(options: OidcAdapterOptions): (model: string) => Adapter {
  return (model) => (model === 'Client' ? clientAdapter(options.clients) : recordAdapter(model, options));
}

function recordAdapter(model: string, o: OidcAdapterOptions): Adapter {
  const found = (payload: Record<string, unknown> | null): AdapterPayload | undefined => (payload ?? undefined) as AdapterPayload | undefined;
  const graceApplies = model === 'RefreshToken' && o.refreshReuseGraceMs > 0;
  return {
    async upsert(id, payload, expiresIn) {
      // A grant is kept past its end (oidc-provider still refuses it then, by its `exp`) for as long
      // as an access token issued just before could live, so it can still be revoked (DELETE
      // /grants/{id}, signing out everywhere) and those tokens refused by the revocation list.
      const kept = model === 'Grant' ? o.revocationTtlMs() : 0;
      const expiresAt = expiresIn ? o.clock() + expiresIn * 1000 + kept : null;
      if (model === 'Grant') await upsertGrant(id, payload as Record<string, unknown>, expiresAt, o);
      else if (model === 'RefreshToken') await upsertRefreshToken(id, payload as Record<string, unknown>, expiresAt, o);
      else await o.records.upsert(model, id, payload as Record<string, unknown>, expiresAt);
    },
    async find(id) {
      // A give-back the store failed (it was away when the request that consumed this failed): completed
      // first, so the client's retry finds the token as it was before that request, not used by it.
      if (SINGLE_USE.has(model) && o.pendingGiveBacks && !o.pendingGiveBacks.empty)
        await completeGiveBack(o.pendingGiveBacks.of(model, o.records.refOf(model, id)), o);
      if (model === 'Grant') {
        const stored = await o.records.findVersioned(model, id, o.clock());
        return found(stored && { ...stored.payload, [GRANT_VERSION]: stored.version });
      }
      const payload = await o.records.find(model, id, o.clock());
      if (graceApplies && payload && withinGrace(payload.consumed, o)) {
        // A retry is found as the successor the first use created, under the id presented (the
        // successor's own id is not stored); `consume` below then consumes that successor.
        const successor = await successorOf(payload, id, o);
        // Given back by the use that consumed it (it failed): found as it is now, unused.
        if (successor === GIVEN_BACK) return found(noteFound(model, id, (await o.records.find(model, id, o.clock())) ?? payload));
        if (successor) return found(noteFound(model, id, { ...successor.payload, jti: id }));
      }
      return found(payload && noteFound(model, id, payload));
    },
    async findByUid(uid) {
      return found(await o.records.findByUid(model, uid, o.clock()));
    },
    async findByUserCode(userCode) {
      return found(await o.records.findByUserCode(model, userCode, o.clock()));
    },
    async consume(id) {
      const now = o.clock();
      const by = consumeId();
      const consumed = () => noteConsumed(model, o.records.refOf(model, id), now, by, consumedInRequest.getStore()?.chains.get(id));
      if (await noteIfFailed(o.records.consume(model, id, now, by), consumed)) return consumed();
      // A request_uri is used once (RFC 9126 §4): the late one of two concurrent authorizations is refused.
      if (model === 'PushedAuthorizationRequest') throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
      if (!SINGLE_USE.has(model)) return;
      const used = await o.records.find(model, id, now);
      // Consumed inside the grace window: a retry, or a use concurrent with the first that lost the race to
      // consume it (both found it unused); either way continued from the first use's successor.
      if (graceApplies && used && withinGrace(used.consumed, o)) {
        const until = performance.now() + SUCCESSOR_WAIT_MS;
        for (;;) {
          const successor = await successorOf(used, id, o, until);
          // Given back by the use that consumed it (it failed): this use consumes it, as a first use. Should
          // another use consume it first, this one continues from that one's successor, as any retry.
          if (successor === GIVEN_BACK) {
            const at = o.clock();
            const again = consumeId();
            const consumedNow = () => noteConsumed(model, o.records.refOf(model, id), at, again, consumedInRequest.getStore()?.chains.get(id));
            if (await noteIfFailed(o.records.consume(model, id, at, again), consumedNow)) return consumedNow();
            continue;
          }
          // No successor to continue: the chain moved on since (or none was ever stored): a reuse, as find()
          // answers when there is none. One a concurrent use is still storing is waited for (successorOf).
          if (!successor) return refuseReuse(model, used, o);
          // Stamped consumed as of the window's start: a successor a retry spent has no window of its own, so
          // its holder presenting it is a reuse (RFC 9700 §4.14.2), not a retry that moves the chain back to them.
          const spentBy = consumeId();
          const spent = () => noteConsumed(model, successor.ref, now - o.refreshReuseGraceMs, spentBy, successor.payload[CHAIN]);
          if (await noteIfFailed(o.records.consumeStored(model, successor.ref, now - o.refreshReuseGraceMs, spentBy), spent)) return spent();
          // Another retry spent it first (three or more uses at once): it is storing its own successor, which
          // this one continues from, so that one successor stays live. Not a reuse: the chain has not moved on.
        }
      }
      await refuseReuse(model, used, o);
    },
    async destroy(id) {
      // oidc-provider deletes a grant only with all its tokens (its revoke()), and a code or refresh token
      // only when it revokes the grant too: on a reuse (RFC 9700 §4.14.2), in parallel with that revoke, or
      // at the revocation endpoint (RFC 7009 §2.1), before it. Deleted alone, and the revoke then failing
      // (the store away), the token that would show the reuse again is gone and the grant lives on. So
      // each of these is the whole revocation, in one transaction: all of it holds, or none of it.
      if (model === 'Grant') return revokeGrant(id, o, true);
      const grantId = SINGLE_USE.has(model) ? (await o.records.find(model, id, o.clock()))?.grantId : undefined;
      if (typeof grantId === 'string') return revokeGrant(grantId, o, false);
      await o.records.destroy(model, id);
    },
    // oidc-provider revokes a grant model by model, in parallel: each is the whole revocation, so the
    // one that succeeds first leaves nothing of the grant, and one that fails deletes nothing.
    revokeByGrantId: (grantId) => revokeGrant(grantId, o, false),
  };
}

/**
 * What one request consumed (codes and refresh tokens: by stored ref, with the consume's stamp and
 * unique value and, for a refresh token, its chain), the refresh tokens it stored (by id), and the
 * chain of each refresh token it found, by the id presented.
 */
interface RequestNotes {
  consumed: { model: string; ref: string; at: number; by: string; chain: unknown }[];
  /** By id (kept in memory only, for the request): a withdrawal must tell a token never stored from one taken. */
  issued: string[];
  chains: Map<string, unknown>;
  /** The error oidc-provider refused the request with (noteRefusal), for noteConsumes to judge. */
  refusal?: unknown;
}
const consumedInRequest = new AsyncLocalStorage<RequestNotes>();

/**
 * Runs each of oidc-provider's requests with a note of what it consumes and issues; a request that
 * fails after it consumed a code or refresh token gives it back (giveBack). Failed: answered 5xx (the
 * store away, 503, or anything else, 500: oidc-provider answers the failures it catches itself), or
 * failing past every answer. Nothing was issued to the client then, yet what it presented would stay
 * used, and the retry it is told to make would be a reuse that revokes the grant (RFC 9700 §4.14.2):
 * our failure would sign the user out. Given back before the answer is sent, so the retry finds it
 * given back; never after a successful answer (2xx).
 *
 * A refusal (4xx) is final (RFC 6749 §5.2) and keeps what it consumed, unless `forTheRequest` says it
 * was about what the request asked, not about the token: oidc-provider consumes a code or refresh
 * token once the token itself passed every check (found, unexpired, this client's, unused, its grant
 * and user there), and only then resolves the resource the request names (RFC 8707 §2, invalid_target)
 * or checks a code's DPoP binding against the proof sent (RFC 9449 §10.1). Kept used, the client's
 * corrected retry would be a reuse, and a mistyped parameter would revoke the grant. Such a give-back
 * is reported (`onGivenBack`): whoever holds a stolen code or refresh token can probe with it this way
 * without spending it, and the attempt must stay visible.
 */
export function noteConsumes<K extends { status: number; headerSent: boolean }>(
  o: GiveBackOptions,
  onError: (error: unknown) => void,
  forTheRequest: (kctx: K, refusal: unknown) => Promise<boolean> = async () => false,
  onGivenBack: (kctx: K, refusal: unknown) => Promise<void> = async () => undefined,
) {
  return (kctx: K | null, next: () => Promise<void>): Promise<void> => {
    const notes: RequestNotes = { consumed: [], issued: [], chains: new Map() };
    return consumedInRequest.run(notes, async () => {
      try {
        await next();
      } catch (error) {
        if (kctx?.headerSent) throw error;
        try {
          await giveBack(notes, o, true);
        } catch (failed) {
          throw new StorageUnavailableError('a token request failed, and what was consumed for it is given back once the store is (PendingGiveBacks)', {
            cause: new AggregateError([error, failed]),
          });
        }
        throw error;
      }
      if (!kctx || kctx.headerSent || notes.consumed.length === 0) return;
      if (kctx.status >= 500) await giveBack(notes, o, true).catch(onError);
      else if (kctx.status >= 400 && notes.refusal !== undefined && (await forTheRequest(kctx, notes.refusal))) {
        const { refusal } = notes;
        // Reported before the answer goes, so the audit log has it by the time the client sees the refusal.
        await giveBack(notes, o).then(() => onGivenBack(kctx, refusal), onError);
      }
    });
  };
}

/** Notes the error a request was refused with (oidc-provider's grant.error), for noteConsumes. */
export function noteRefusal(error: unknown): void {
  const notes = consumedInRequest.getStore();
  if (notes) notes.refusal = error;
}

type GiveBackOptions = Pick<OidcAdapterOptions, 'records' | 'clock' | 'refreshReuseGraceMs' | 'pendingGiveBacks'>;

/**
 * Undoes a failed request's consumes (each only if still consumed as it left it: by its stamp and its
 * unique value, consumeId), after withdrawing
 * the refresh tokens it stored for them, which were never sent: left live, a retry inside the grace
 * window could continue from one of them (successorOf) as well as from the retry's own successor, two
 * chains. Each is taken (consumed, as of the window's start, so a concurrent retry waits rather than
 * reading it as the chain moving on) before it is deleted: one a concurrent retry inside the window has
 * taken already was continued from, in an answer that was sent, and the chain moved on through it; what
 * this request consumed then stays used, and the client goes on from that retry's successor.
 */
async function giveBack(notes: RequestNotes, o: GiveBackOptions, failed = false): Promise<void> {
  const left: GiveBack = { consumed: notes.consumed.splice(0), issued: notes.issued.splice(0), taken: new Set() };
  if (left.consumed.length === 0) return;
  try {
    await undo(left, o);
  } catch (error) {
    // The store failed the give-back too (still away): kept, and completed once it is back (PendingGiveBacks).
    if (failed) o.pendingGiveBacks?.add(left);
    throw error;
  }
}

/**
 * What a give-back has left to undo; each step done leaves it, so one the store failed part-way is
 * completed later from where it stopped (a successor it took and failed to delete is only deleted).
 */
interface GiveBack {
  consumed: RequestNotes['consumed'];
  issued: string[];
  /** Successors (by id) this give-back took, to delete. */
  taken: Set<string>;
  /** The completion under way, which every request and the background retry wait for alike. */
  running?: Promise<void> | undefined;
}

async function undo(left: GiveBack, o: GiveBackOptions): Promise<void> {
  while (left.issued.length > 0) {
    const id = left.issued[0]!;
    const ref = o.records.refOf('RefreshToken', id);
    if (left.taken.has(id) || (await o.records.consumeStored('RefreshToken', ref, o.clock() - o.refreshReuseGraceMs))) {
      left.taken.add(id);
      await o.records.destroyStored('RefreshToken', ref);
    } else if (await o.records.find('RefreshToken', id, o.clock())) {
      // Not taken: never stored (its write failed), or taken by a concurrent retry, which answered.
      left.issued.length = 0;
      left.consumed.length = 0;
      return;
    }
    left.issued.shift();
    left.taken.delete(id);
  }
  while (left.consumed.length > 0) {
    const c = left.consumed[0]!;
    await o.records.unconsumeStored(c.model, c.ref, c.at, c.by);
    left.consumed.shift();
  }
}

/**
 * Give-backs the store failed: a request failed after it consumed a code or refresh token, and the
 * store, still away, failed the give-back too. The token stayed used, so the client's retry, told to
 * make it (503, RFC 6749 §5.2 temporarily_unavailable), was judged a reuse once the store was back and
 * revoked the grant (RFC 9700 §4.14.2): our outage signed the user out. Each is kept here, by what it
 * consumed, and completed before that code or refresh token is looked up again on this node (the
 * adapter's find), and in the background (retryGiveBacks), so a retry that reaches another node most
 * likely finds it done too.
 *
 * Completing it later is as sound as completing it at once: it undoes only the consume that failed
 * request left (by its stamp and unique value, consumeId), which still being there means no other use
 * of the token has been made since (a consume succeeds only on an unused record). A token another use
 * consumed successfully since (the client's retry on another node, a thief's) is not touched, and its
 * next presentation is the reuse it is. The token is only put back as it was before the failed request,
 * so whoever presents it first after that is its first use, exactly as when the give-back holds at once.
 *
 * In memory: a restart forgets them, and the retry is judged a reuse, as before. Kept durably it would
 * have to name the successors to withdraw by their secret ids; and a retry reaching another node before
 * the background completion is judged a reuse there, which only the store could tell apart, and the
 * store is what was away.
 */
export class PendingGiveBacks {
  readonly #byRecord = new Map<string, GiveBack>();

  add(left: GiveBack): void {
    for (const c of left.consumed) this.#byRecord.set(`${c.model}\n${c.ref}`, left);
  }

  /** The give-back pending for this code or refresh token (its stored ref), if any. */
  of(model: string, ref: string): GiveBack | undefined {
    return this.#byRecord.get(`${model}\n${ref}`);
  }

  get size(): number {
    return new Set(this.#byRecord.values()).size;
  }

  get empty(): boolean {
    return this.#byRecord.size === 0;
  }

  all(): GiveBack[] {
    return [...new Set(this.#byRecord.values())];
  }

  done(left: GiveBack): void {
    for (const [key, pending] of this.#byRecord) if (pending === left) this.#byRecord.delete(key);
  }
}

/** Completes a pending give-back (one completion at a time: a concurrent caller waits for the one under way). */
async function completeGiveBack(left: GiveBack | undefined, o: GiveBackOptions): Promise<void> {
  if (!left) return;
  left.running ??= undo(left, o)
    .then(() => o.pendingGiveBacks?.done(left))
    .finally(() => (left.running = undefined));
  await left.running;
}

/** Completes each pending give-back; rejects while any is still pending, so the background task reports it. */
export async function retryGiveBacks(o: GiveBackOptions): Promise<void> {
  const pending = o.pendingGiveBacks;
  if (!pending || pending.size === 0) return;
  const failures: unknown[] = [];
  for (const left of pending.all()) await completeGiveBack(left, o).catch((error: unknown) => failures.push(error));
  if (pending.size > 0)
    throw new AggregateError(failures, `${pending.size} give-back(s) of a failed token request the store failed are pending, retried until they hold`);
}

function noteConsumed(model: string, ref: string, at: number, by: string, chain: unknown): void {
  if (SINGLE_USE.has(model)) consumedInRequest.getStore()?.consumed.push({ model, ref, at, by, chain });
}

/**
 * A value unique to one consume, kept with it in the store beside its stamp (a millisecond). By the stamp
 * alone, a request whose consume never reached the store (noteIfFailed) would give back another
 * request's consume of the same code or refresh token made in the same millisecond (two uses at once, a
 * retry inside the grace window), leaving a used token unused: a second chain beside the other's, or a
 * reuse never seen (RFC 6749 §10.4, RFC 9700 §4.14.2). On several nodes their clocks' milliseconds
 * may coincide the same way.
 */
const consumeId = (): string => randomBytes(12).toString('base64url');

/**
 * A consume that failed may still have been kept: the store applied it and the answer was lost (the
 * connection dropped after the commit). Noted as if it succeeded, so the failed request gives it back
 * (giveBack); the give-back undoes only this very consume (its stamp and unique value, consumeId), so
 * it changes nothing when the store did not keep it, even if another request consumed the record in
 * the same millisecond meanwhile. Unnoted, the retry the client is told to make would be a reuse.
 */
async function noteIfFailed(consume: Promise<boolean>, note: () => void): Promise<boolean> {
  try {
    return await consume;
  } catch (error) {
    note();
    throw error;
  }
}

/** oidc-provider keeps only the fields it knows: the chain of a refresh token it found is noted here instead. */
function noteFound(model: string, id: string, payload: Record<string, unknown>): Record<string, unknown> {
  if (model === 'RefreshToken') consumedInRequest.getStore()?.chains.set(id, payload[CHAIN]);
  return payload;
}

/**
 * Where a refresh token keeps the id of its chain: random, given when a chain starts (a code, device
 * code or CIBA request exchanged) and carried by every successor. The chain's iiat cannot tell chains
 * apart: it is in whole seconds, and two chains of one grant (two sign-ins in one session, a device and
 * a browser) may begin in the same one; the grace and reuse decisions (successorOf) would then read
 * one chain's rotations as the other's.
 */
const CHAIN = 'gatehouseChain';

/**
 * The chain of a refresh token being stored: the one it names (tests, or a payload stored again), else
 * the chain of the refresh token this request consumed (a rotation: oidc-provider builds the successor
 * from the fields it knows), else a new chain. The successor of a token stored before chains had ids
 * starts a new id; that token itself is still matched by its iiat (sameChain).
 */
function chainFor(payload: Record<string, unknown>): string {
  if (typeof payload[CHAIN] === 'string') return payload[CHAIN];
  const rotated = consumedInRequest.getStore()?.consumed.find((c) => c.model === 'RefreshToken');
  return typeof rotated?.chain === 'string' ? rotated.chain : randomBytes(16).toString('base64url');
}

/** Two refresh tokens of one grant are of one chain: by its id, or by iiat for a token stored before chains had ids. */
const sameChain = (r: Record<string, unknown>, used: Record<string, unknown>): boolean =>
  typeof used[CHAIN] === 'string' ? r[CHAIN] === used[CHAIN] : r.iiat === used.iiat;

/**
 * A refresh token is stored under the chain it continues (chainFor), and noted as issued by this
 * request, to be withdrawn should the request fail after all (giveBack).
 */
async function upsertRefreshToken(id: string, payload: Record<string, unknown>, expiresAt: number | null, o: OidcAdapterOptions): Promise<void> {
  // Noted first: a write that fails may still have been kept (the answer lost after the commit).
  consumedInRequest.getStore()?.issued.push(id);
  await o.records.upsert('RefreshToken', id, { ...payload, [CHAIN]: chainFor(payload) }, expiresAt);
}

/** Where a grant found by oidc-provider keeps the version it was read at (carryGrantVersion). */
const GRANT_VERSION = 'gatehouseVersion';

/**
 * A grant is written only over the version it was read at, and a new one only where there is none: two
 * requests that read one grant and change it at once (two authorizations in one session, each widening
 * it) must not undo each other's change. The late one is refused, and saveGrant reads it again.
 */
async function upsertGrant(id: string, payload: Record<string, unknown>, expiresAt: number | null, o: OidcAdapterOptions): Promise<void> {
  const { [GRANT_VERSION]: version, ...grant } = payload;
  if (!(await o.records.upsertIfVersion('Grant', id, grant, expiresAt, typeof version === 'number' ? version : null))) throw new GrantChangedError(id);
}

/** A grant saved over a version another request wrote (or deleted) since this one read it. */
export class GrantChangedError extends Error {
  override readonly name = 'GrantChangedError';
  constructor(grantId: string) {
    super(`grant ${grantId} was changed since it was read`);
  }
}

/**
 * oidc-provider keeps only the fields it knows of a record it finds; a grant keeps the version it was
 * read at as well, so that its save is written over that version only (upsertGrant).
 */
export function carryGrantVersion(provider: Provider): void {
  const known = provider.Grant.IN_PAYLOAD;
  Object.defineProperty(provider.Grant, 'IN_PAYLOAD', { get: () => [...known, GRANT_VERSION] });
}

/** Tries of one change of a grant (read, change, save) while other requests change it too. */
const GRANT_SAVE_ATTEMPTS = 5;

/**
 * Reads a grant and changes it (`change`: the grant to save, undefined when there is none), then saves
 * it; when another request saved it since, reads it again and redoes the change, so of two concurrent
 * changes (widenings) neither is lost. The grant saved, or undefined.
 */
export async function saveGrant<G extends { save(): Promise<unknown> }>(change: () => Promise<G | undefined>): Promise<G | undefined> {
  for (let attempt = 1; ; attempt++) {
    const grant = await change();
    if (!grant) return undefined;
    try {
      await grant.save();
      return grant;
    } catch (error) {
      if (!(error instanceof GrantChangedError) || attempt >= GRANT_SAVE_ATTEMPTS) throw error;
    }
  }
}

/**
 * Revokes a grant in one store transaction: every record of it deleted (the grant itself too when
 * `withGrant`) and it listed as revoked, since JWT access tokens are not stored and a verifier can only
 * refuse them by their grant id. Nothing is deleted unless all of it holds: a code or refresh token
 * whose reuse was seen stays, used, and its next presentation revokes the grant again.
 */
async function revokeGrant(grantId: string, o: OidcAdapterOptions, withGrant: boolean): Promise<void> {
  const now = o.clock();
  try {
    await o.records.revokeGrant({ grantId, models: GRANT_BOUND, withGrant, revokedAt: now, expiresAt: now + o.revocationTtlMs() });
  } catch (error) {
    // Still failed to the request (503 while the store is away); retried in the background too, and
    // journaled first, so a restart before it holds does not forget it (RFC 9700 §4.14.2).
    await o.pendingRevocations?.add(grantId, withGrant);
    throw error;
  }
  await o.pendingRevocations?.settle(grantId, withGrant);
  o.onGrantRevoked(grantId);
}

/** Records a grant is issued from once: a second use is a reuse, which revokes the grant. */
const SINGLE_USE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
/** Every model whose records a grant's revocation deletes (oidc-provider's own revoke()). */
const GRANT_BOUND = ['AccessToken', ...SINGLE_USE];

/**
 * A code or refresh token that oidc-provider found unused but another request consumed before this
 * one could: two concurrent uses, so the same as a second one (RFC 6749 §4.1.2, RFC 9700 §4.14.2):
 * the grant and everything issued from it are revoked, and this request is refused. oidc-provider
 * checks `consumed` and then consumes, so without this both uses of a race would be served, as two
 * token chains, and no reuse would ever be seen.
 */
async function refuseReuse(model: string, used: Record<string, unknown> | null, o: OidcAdapterOptions): Promise<never> {
  const grantId = used?.grantId;
  if (typeof grantId === 'string') {
    await revokeGrant(grantId, o, true);
    o.onReuseRevoked(grantId);
  }
  throw new errors.InvalidGrant(`${model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
}

/** How long a use inside the grace window waits for the successor a concurrent use is storing, and how often it looks. */
const SUCCESSOR_WAIT_MS = 2000;
const SUCCESSOR_POLL_MS = 20;

/**
 * A retry inside the grace window continues the chain from the live successor of the token it presents:
 * that successor is rotated now, so if someone else holds it and uses it later, that is a reuse and the
 * grant is revoked. One chain, never two.
 *
 * The live successor is the chain's one live token after the one presented: the first use's successor,
 * or, once retries spent that, the one the last retry left (at the next rotation, or a sibling of the
 * first successor when that retry found the token unused too). A token after the one presented that its
 * holder used (consumed inside the window; one a retry spent is stamped at its window's start) means the
 * chain moved on: a reuse (RFC 9700 §4.14.2), however live the token after it. Without a live successor
 * (the first use consumes the token, then stores its successor; a concurrent retry spent the live one
 * and is storing its own) it waits, a bounded time on the wall clock, as the retry it is: it does not
 * revoke the grant on a race the grace window exists for. Nor when the use that consumed the token
 * failed and gave it back (giveBack), leaving no successor: GIVEN_BACK, the token `presented` (its id)
 * is unused again, and this use goes on from it.
 */
async function successorOf(
  used: Record<string, unknown>,
  presented: string,
  o: OidcAdapterOptions,
  until = performance.now() + SUCCESSOR_WAIT_MS,
): Promise<StoredRecord | typeof GIVEN_BACK | undefined> {
  if (typeof used.grantId !== 'string') return undefined;
  const rotations = typeof used.rotations === 'number' ? used.rotations : 0;
  for (;;) {
    const chain = await o.records.listByGrant('RefreshToken', used.grantId, o.clock());
    const later = chain.filter((r) => sameChain(r.payload, used) && typeof r.payload.rotations === 'number' && r.payload.rotations > rotations);
    if (later.some((r) => withinGrace(r.payload.consumed, o))) return undefined;
    const live = later.find((r) => r.payload.consumed === undefined);
    if (live) return live;
    const now = await o.records.find('RefreshToken', presented, o.clock());
    if (now && now.consumed === undefined) return GIVEN_BACK;
    if (performance.now() >= until) return undefined;
    await delay(SUCCESSOR_POLL_MS);
  }
}

/** successorOf: the token presented was given back, and is unused again. */
const GIVEN_BACK = Symbol('given back');

const withinGrace = (consumed: unknown, o: OidcAdapterOptions): boolean =>
  o.refreshReuseGraceMs > 0 && typeof consumed === 'number' && o.clock() - consumed * 1000 < o.refreshReuseGraceMs;

function clientAdapter(clients: ClientDirectory): Adapter {
  const readOnly = async () => {
    throw new Error('clients are managed through the admin API, not by oidc-provider');
  };
  return {
    async find(id) {
      return (await clients.metadata(id)) as AdapterPayload | undefined;
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: async () => undefined,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
