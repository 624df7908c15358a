import type { ApiKey } from '../../domain/entities.ts';
import { keyState } from '../../domain/key-lifecycle.ts';
import type { KeyAddressUse, PageQuery } from '../../store/port.ts';
import type { KeyAddressesView, KeyDetailView } from '../admin/key-address-responses.ts';
import { iso, type ControlContext } from '../context.ts';
import { workingSuccessor } from './compromise.ts';
import { keysService } from './keys.ts';

const useView = (use: KeyAddressUse) => ({ firstSeenAt: iso(use.firstSeen), lastSeenAt: iso(use.lastSeen), requests: use.requests });

/**
 * Where keys are used from (store/port.ts KeyAddressRepo): the list for an incident, and the drain
 * view of a rotated key. Both flush the usage counters first, so uses not yet written are included.
 */
export const keyAddressesService = {
  /** A key's client addresses, last seen newest first, and the uses from addresses past the cap. */
  async list(ctx: ControlContext, keyId: string, page: PageQuery): Promise<KeyAddressesView> {
    const key = await keysService.get(ctx, keyId);
    await ctx.usage.flush();
    const [found, others] = await Promise.all([ctx.store.keyAddresses.list(key.id, page), ctx.store.keyAddresses.others(key.id)]);
    return {
      keyId: key.id,
      items: found.items.map((use) => ({ address: use.address, ...useView(use) })),
      nextCursor: found.nextCursor,
      otherAddresses: others && useView(others),
    };
  },

  /**
   * A key as `GET /keys/{id}` shows it. A rotated key inside its grace period (it has a successor and
   * has not expired: domain/key-lifecycle.ts `rotating`) adds its drain: who used it since the
   * rotation, and when last, so an operator can retire it (revoke) before the grace period ends.
   * It names the key that works in its place (workingSuccessor): none when the successor was
   * revoked, expired, deleted or disabled since, and then this key is the line's last working one: never to
   * be retired early (`retirable` false, however quiet).
   */
  async show(ctx: ControlContext, keyId: string): Promise<KeyDetailView> {
    let key = await keysService.get(ctx, keyId);
    const now = ctx.clock();
    if (keyState(key, now) !== 'rotating') return { ...(await keysService.view(ctx, key)), drain: null };
    await ctx.usage.flush();
    // Read again: the flush has written its lastUsedAt.
    key = await keysService.get(ctx, keyId);
    const rotatedAt = await rotationTime(ctx, key);
    const seen = await ctx.store.keyAddresses.countSeenSince(key.id, rotatedAt);
    const view = await keysService.view(ctx, key);
    const successor = await workingSuccessor(ctx, key.replacedBy!, now);
    const lastUsedAt = key.lastUsedAt;
    // lastUsedAt counts every use, those without an address too (a verify call that consumes).
    const quiet = (lastUsedAt === null || lastUsedAt < rotatedAt) && seen.addresses === 0 && !seen.others;
    return {
      ...view,
      drain: {
        successorId: successor?.id ?? null,
        rotatedAt: iso(rotatedAt),
        graceEndsAt: iso(key.expiresAt!),
        addresses: seen.addresses,
        otherAddresses: seen.others,
        lastUsedAt: iso(lastUsedAt),
        secondsSinceLastUse: lastUsedAt === null ? null : Math.max(0, Math.floor((now - lastUsedAt) / 1000)),
        quiet,
        retirable: quiet && successor !== null,
      },
    };
  },
};

/**
 * When the key was rotated: its successor was made then (keysService.rotate). The key itself keeps
 * no such time (its updatedAt moves with later edits); if the successor was deleted, the rotation's
 * audit entry says it.
 */
async function rotationTime(ctx: ControlContext, key: ApiKey): Promise<number> {
  const successor = await ctx.store.keys.get(key.replacedBy!);
  if (successor) return successor.createdAt;
  const audit = await ctx.store.audit.list({ targetId: key.id, action: 'key.rotated', limit: 1 });
  return audit.items[0]?.at ?? key.updatedAt;
}
