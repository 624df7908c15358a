import type { SigningKey } from './entities.ts';

/**
 * Which signing keys are published and which one signs, at a moment. A key is published from its
 * creation, so verifiers can fetch it before it signs anything; it signs from `activatesAt` until a
 * newer key activates; it stays published until `unpublishAt`, when every token it signed has expired.
 */
export interface KeySchedule {
  /** The newest key whose activation time has come; null when none has. */
  active: SigningKey | null;
  /** Every published key, the active one first, then newest first. */
  published: SigningKey[];
  /** When the answer next changes (a key activates or is unpublished); null when nothing is pending. */
  nextChangeAt: number | null;
}

export function keySchedule(keys: readonly SigningKey[], now: number): KeySchedule {
  const published = keys.filter((k) => k.unpublishAt === null || k.unpublishAt > now);
  const activated = published.filter((k) => k.activatesAt <= now).sort(newestActivationFirst);
  const active = activated[0] ?? null;
  const ordered = [...(active ? [active] : []), ...published.filter((k) => k !== active).sort(newestActivationFirst)];
  const pending = keys.flatMap((k) => [k.activatesAt, k.unpublishAt ?? Infinity]).filter((t) => t > now);
  const nextChangeAt = pending.length ? Math.min(...pending) : null;
  return { active, published: ordered, nextChangeAt: nextChangeAt === Infinity ? null : nextChangeAt };
}

/**
 * The key a rotation replaces: the one that signs when the new key activates. It retires then and is
 * unpublished after `maxTokenLifetimeMs` more.
 */
export function retireForRotation(keys: readonly SigningKey[], activatesAt: number, maxTokenLifetimeMs: number, now: number): SigningKey[] {
  return keys
    .filter((k) => k.activatesAt <= activatesAt && (k.retiredAt === null || k.retiredAt > activatesAt))
    .map((k) => ({ ...k, retiredAt: activatesAt, unpublishAt: activatesAt + maxTokenLifetimeMs, updatedAt: now }));
}

/**
 * The keys an immediate rotation (a key believed leaked) distrusts: every key still published, the
 * one that signs, one published ahead of a scheduled rotation and one retired but kept for its
 * tokens. A leaked signing key means the master key or the process's memory is out, so every key
 * sealed beside it is as known; each is unpublished now, and a pending one never comes to sign.
 */
export function distrustForImmediateRotation(keys: readonly SigningKey[], now: number): SigningKey[] {
  return keys
    .filter((k) => k.unpublishAt === null || k.unpublishAt > now)
    .map((k) => ({ ...k, retiredAt: k.retiredAt !== null && k.retiredAt <= now ? k.retiredAt : now, unpublishAt: now, updatedAt: now }));
}

/** Whether the scheduled rotation is due: the newest key activated at least `everyMs` ago. */
export function rotationDue(keys: readonly SigningKey[], everyMs: number, now: number): boolean {
  const newest = Math.max(-Infinity, ...keys.map((k) => k.activatesAt));
  return newest === -Infinity || now - newest >= everyMs;
}

const newestActivationFirst = (a: SigningKey, b: SigningKey): number => b.activatesAt - a.activatesAt || (a.id < b.id ? 1 : -1);
