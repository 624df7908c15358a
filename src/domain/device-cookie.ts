import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import { hashesEqual } from './key-hash.ts';

/**
 * A device cookie (OWASP, "Slow Brute Force Attack Protection: device cookies"): after a successful
 * sign-in the browser gets a signed token binding it to the account. A sign-in that presents one for
 * the account it names is counted against that device alone, so strangers' failures cannot slow it.
 */
export interface DeviceBinding {
  accountId: string;
  /** Random per issued cookie: the slot its own failures are counted in. */
  deviceId: string;
  /** Milliseconds since the epoch; the cookie is refused after issuedAt + its lifetime. */
  issuedAt: number;
}

const VERSION = 'd1';
/** Larger values are not ours: no JSON parse of attacker-sized input. */
const MAX_LENGTH = 512;

export function newDeviceBinding(accountId: string, now: number): DeviceBinding {
  return { accountId, deviceId: randomBytes(16).toString('base64url'), issuedAt: now };
}

/** `payload.mac`: base64url JSON, then HMAC-SHA-256 of it under a key used for nothing else. */
export function sealDeviceCookie(key: KeyObject, d: DeviceBinding): string {
  const payload = Buffer.from(JSON.stringify([VERSION, d.accountId, d.deviceId, d.issuedAt])).toString('base64url');
  return `${payload}.${mac(key, payload)}`;
}

/** The binding, when the value is one we signed and it is within its lifetime; otherwise null. */
export function openDeviceCookie(key: KeyObject, value: string | undefined, now: number, lifetimeMs: number): DeviceBinding | null {
  if (!value || value.length > MAX_LENGTH) return null;
  const dot = value.indexOf('.');
  if (dot < 0) return null;
  const payload = value.slice(0, dot);
  if (!hashesEqual(value.slice(dot + 1), mac(key, payload))) return null;
  const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  if (!Array.isArray(parsed) || parsed.length !== 4) return null;
  const [version, accountId, deviceId, issuedAt] = parsed as unknown[];
  if (version !== VERSION || typeof accountId !== 'string' || typeof deviceId !== 'string' || typeof issuedAt !== 'number') return null;
  // A minute of slack for a clock stepped back after the cookie was issued.
  if (!(issuedAt <= now + 60_000 && now < issuedAt + lifetimeMs)) return null;
  return { accountId, deviceId, issuedAt };
}

const mac = (key: KeyObject, payload: string): string => createHmac('sha256', key).update(`gatehouse device cookie:${payload}`).digest('base64url');
