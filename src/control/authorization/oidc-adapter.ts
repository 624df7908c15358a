import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { OidcModelRepo, RevocationRepo } from '../../store/port.ts';
import type { ClientDirectory } from './client-directory.ts';

export interface OidcAdapterOptions {
  records: OidcModelRepo;
  revocations: RevocationRepo;
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
}

/**
 * oidc-provider's storage adapter (one instance per model) on Gatehouse's store port. Clients are
 * not records: they come from the client directory, built from the admin-managed clients. Revoking
 * a grant's access tokens also lists the grant as revoked, because JWT access tokens are not stored
 * and a verifier can only refuse them by their grant id.
 */
export function createOidcAdapterFactory(options: OidcAdapterOptions): (model: string) => Adapter {
  return (model) => (model === 'Client' ? clientAdapter(options.clients) : recordAdapter(model, options));
}

function recordAdapter(model: string, o: OidcAdapterOptions): Adapter {
  const found = (payload: Record<string, unknown> | null): AdapterPayload | undefined => (payload ?? undefined) as AdapterPayload | undefined;
  return {
    async upsert(id, payload, expiresIn) {
      await o.records.upsert(model, id, payload as Record<string, unknown>, expiresIn ? o.clock() + expiresIn * 1000 : null);
    },
    async find(id) {
      const payload = await o.records.find(model, id, o.clock());
      if (model === 'RefreshToken' && payload && withinGrace(payload.consumed, o)) return found(await successorOf(payload, o));
      return found(payload);
    },
    async findByUid(uid) {
      return found(await o.records.findByUid(model, uid, o.clock()));
    },
    async findByUserCode(userCode) {
      return found(await o.records.findByUserCode(model, userCode, o.clock()));
    },
    async consume(id) {
      await o.records.consume(model, id, o.clock());
    },
    async destroy(id) {
      await o.records.destroy(model, id);
    },
    async revokeByGrantId(grantId) {
      await o.records.revokeByGrantId(model, grantId);
      if (model === 'AccessToken') {
        const now = o.clock();
        await o.revocations.add({ kind: 'grant', id: grantId, revokedAt: now, expiresAt: now + o.revocationTtlMs() });
        o.onGrantRevoked(grantId);
      }
    },
  };
}

/**
 * A retry inside the grace window continues the chain from the successor the first use created: that
 * successor is rotated now, so if someone else holds it and uses it later, that is a reuse and the
 * grant is revoked. One chain, never two. Without a live successor the retry is a reuse like any other.
 */
async function successorOf(used: Record<string, unknown>, o: OidcAdapterOptions): Promise<Record<string, unknown>> {
  if (typeof used.grantId !== 'string') return used;
  const next = (typeof used.rotations === 'number' ? used.rotations : 0) + 1;
  const chain = await o.records.listByGrant('RefreshToken', used.grantId, o.clock());
  const successor = chain.find((r) => r.payload.consumed === undefined && r.payload.iiat === used.iiat && r.payload.rotations === next);
  return successor?.payload ?? used;
}

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
