import type { ApiKey } from './entities.ts';

/**
 * A key's lifecycle, written down once. `rotating` is a rotated key inside its grace period (its
 * expiry is the end of that period); `rotated` is one past it. `revoked`, `rotated` and `expired`
 * are final: nothing brings a key back from them, so a secret that was meant to die stays dead.
 */
export type KeyState = 'active' | 'disabled' | 'rotating' | 'rotated' | 'expired' | 'revoked';

/** What an admin may do to a key. Marking a key exposed is an observation, not a transition. */
export type KeyAction = 'edit' | 'enable' | 'disable' | 'changeExpiry' | 'rotate' | 'revoke' | 'delete';

const ALL: readonly KeyAction[] = ['edit', 'enable', 'disable', 'changeExpiry', 'rotate', 'revoke', 'delete'];

export const KEY_TRANSITIONS: Readonly<Record<KeyState, ReadonlySet<KeyAction>>> = {
  active: new Set(ALL),
  disabled: new Set(ALL),
  // The grace period was set by the rotation: it may be cut short (revoke), not moved.
  rotating: new Set<KeyAction>(['edit', 'enable', 'disable', 'revoke', 'delete']),
  rotated: new Set<KeyAction>(['delete']),
  expired: new Set<KeyAction>(['delete']),
  revoked: new Set<KeyAction>(['delete']),
};

export function keyState(key: Pick<ApiKey, 'revokedAt' | 'expiresAt' | 'enabled' | 'replacedBy'>, now: number): KeyState {
  if (key.revokedAt !== null && key.revokedAt <= now) return 'revoked';
  const ended = key.expiresAt !== null && key.expiresAt <= now;
  if (key.replacedBy !== null) return ended ? 'rotated' : 'rotating';
  if (ended) return 'expired';
  return key.enabled ? 'active' : 'disabled';
}

type LiveFields = Pick<ApiKey, 'revokedAt' | 'expiresAt' | 'enabled'> & Partial<Pick<ApiKey, 'replacedBy'>>;

/**
 * In use at `now`: neither revoked nor expired (a rotated key is in use until its grace ends). A
 * disabled key is in use: an operator may enable it again, so nothing may take its place (the
 * store's IN_USE; a rotation or compromise supersedes only a successor out of use).
 */
export const keyInUse = (key: LiveFields, now: number): boolean =>
  !(key.revokedAt !== null && key.revokedAt <= now) && !(key.expiresAt !== null && key.expiresAt <= now);

/**
 * Works at `now`: authenticates, so in use and enabled. The one meaning of a "working" key (a line's
 * working key, the successor a drained key may be retired for); the store's conditional revoke says
 * the same in SQL. A disabled successor is no working key: clients cannot move to it.
 */
export const keyWorks = (key: LiveFields, now: number): boolean => keyInUse(key, now) && key.enabled;

export type KeyTransition = { allowed: true } | { allowed: false; state: KeyState; reason: string };

const REASONS: Record<KeyState, string> = {
  active: '',
  disabled: '',
  rotating: 'this key was rotated: its grace period can be ended (revoke) but not moved; change its successor instead',
  rotated: 'this key was rotated out and its grace period is over; it can only be deleted',
  expired: 'this key has expired; it can only be deleted: issue a new key',
  revoked: 'this key is revoked; it can only be deleted',
};

/** Whether `action` is a transition the key's current state allows. */
export function checkKeyTransition(key: Parameters<typeof keyState>[0], action: KeyAction, now: number): KeyTransition {
  const state = keyState(key, now);
  if (KEY_TRANSITIONS[state].has(action)) return { allowed: true };
  return { allowed: false, state, reason: REASONS[state] || `a key that is ${state} cannot ${action}` };
}
