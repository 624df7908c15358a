import { exportJWK, generateKeyPair } from 'jose';
import type { SigningAlg, SigningKey } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import { distrustForImmediateRotation, keySchedule, retireForRotation, rotationDue } from '../../domain/signing-key-schedule.ts';
import { iso, type Actor, type ControlContext } from '../context.ts';
import type { SigningKeyView } from '../admin/identity-responses.ts';
import { requireIdentity } from './users.ts';

export function signingKeyView(key: SigningKey, now: number): SigningKeyView {
  const { sealedPrivateJwk: _s, activatesAt, retiredAt, unpublishAt, createdAt, updatedAt, ...rest } = key;
  const schedule = keySchedule([key], now);
  const state =
    key.unpublishAt !== null && key.unpublishAt <= now
      ? 'unpublished'
      : key.retiredAt !== null && key.retiredAt <= now
        ? 'retired'
        : schedule.active
          ? 'active'
          : 'next';
  return {
    ...rest,
    state,
    activatesAt: iso(activatesAt),
    retiredAt: iso(retiredAt),
    unpublishAt: iso(unpublishAt),
    createdAt: iso(createdAt),
    updatedAt: iso(updatedAt),
  };
}

const audit = (actor: Actor, action: string, key: SigningKey, now: number) => ({
  ...actor,
  action: `signing_key.${action}`,
  targetType: 'signing_key' as const,
  targetId: key.id,
  before: null,
  after: signingKeyView(key, now),
});

/**
 * Token-signing keys: generated here, the private half sealed under the master key, published in
 * the JWKS before they sign, and kept published after they retire until their tokens expire.
 */
export const signingKeysService = {
  async list(ctx: ControlContext): Promise<SigningKey[]> {
    return ctx.store.signingKeys.all();
  },

  /**
   * Adds a key that signs after the publish lead, and retires the key it replaces from that moment.
   * `immediate` is for a key believed compromised: the new key signs at once and every older key
   * still published (pending and retired ones too: sealed beside the leaked one) is unpublished at
   * once, so tokens they signed (or an attacker forged with them) stop verifying.
   */
  async rotate(ctx: ControlContext, actor: Actor, options: { alg?: SigningAlg | undefined; immediate?: boolean | undefined } = {}): Promise<SigningKey> {
    const identity = requireIdentity(ctx);
    const now = ctx.clock();
    const existing = await ctx.store.signingKeys.all();
    const activatesAt = options.immediate || existing.length === 0 ? now : now + identity.signing.publishLeadMs;
    const key = await generate(ctx, options.alg ?? identity.signing.alg, activatesAt, now);
    const retiring = options.immediate
      ? distrustForImmediateRotation(existing, now)
      : retireForRotation(existing, activatesAt, identity.maxTokenLifetimeMs, now);
    // The first key replaces nothing: only a rotation is announced.
    const rotated =
      existing.length === 0
        ? []
        : [
            {
              type: 'signing_key.rotated' as const,
              data: { signingKey: signingKeyView(key, now), immediate: Boolean(options.immediate), retired: retiring.map((k) => signingKeyView(k, now)) },
            },
          ];
    await ctx.store.signingKeys.create(key, { ...audit(actor, options.immediate ? 'rotated_immediately' : 'created', key, now), events: rotated });
    for (const retired of retiring) {
      await ctx.store.signingKeys.update(retired, audit(actor, 'retired', retired, now));
    }
    ctx.changes.publish({ type: 'signing_keys.changed' });
    return key;
  },

  /** At start and on a timer: a first key when there is none, a scheduled rotation when one is due. */
  async ensureCurrent(ctx: ControlContext): Promise<SigningKey | null> {
    const identity = requireIdentity(ctx);
    const keys = await ctx.store.signingKeys.all();
    const pendingExists = keys.some((k) => k.activatesAt > ctx.clock());
    if (pendingExists || !rotationDue(keys, identity.signing.rotateEveryMs, ctx.clock())) return null;
    return signingKeysService.rotate(ctx, { actor: 'system', requestId: null });
  },

  /** Deletes keys whose unpublish time has passed: no token they signed can still be valid. */
  async prune(ctx: ControlContext): Promise<number> {
    const now = ctx.clock();
    let pruned = 0;
    for (const key of await ctx.store.signingKeys.all()) {
      if (key.unpublishAt !== null && key.unpublishAt <= now) {
        await ctx.store.signingKeys.delete(key.id, (deleted) => audit({ actor: 'system', requestId: null }, 'deleted', deleted, now));
        pruned++;
      }
    }
    return pruned;
  },
};

async function generate(ctx: ControlContext, alg: SigningAlg, activatesAt: number, now: number): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 3072 } : {}) });
  const id = newId('signingKey', now);
  const use = { kid: id, alg, use: 'sig' };
  return {
    id,
    alg,
    publicJwk: { ...(await exportJWK(publicKey)), ...use },
    sealedPrivateJwk: ctx.identity!.signingKeyBox.seal(JSON.stringify({ ...(await exportJWK(privateKey)), ...use }), id),
    activatesAt,
    retiredAt: null,
    unpublishAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** The key that signs now, opened: for the gateway's identity JWTs. */
export async function activeSigningMaterial(ctx: ControlContext): Promise<{ kid: string; alg: string; privateJwk: Record<string, unknown> }> {
  const identity = requireIdentity(ctx);
  const active = keySchedule(await ctx.store.signingKeys.all(), ctx.clock()).active;
  if (!active) throw new Error('no signing key is active');
  return { kid: active.id, alg: active.alg, privateJwk: JSON.parse(identity.signingKeyBox.open(active.sealedPrivateJwk, active.id)) };
}
