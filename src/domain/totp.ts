import { randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { hashesEqual, hashKey, type Pepper } from './key-hash.ts';

/** TOTP (RFC 6238) with the parameters every authenticator app supports: SHA-1, 6 digits, 30 s. */
const PERIOD_SECONDS = 30;
/** One step either side absorbs clock drift between the phone and the server (RFC 6238 §5.2). */
const WINDOW = 1;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI authenticator apps import (as text or a QR code). */
export function totpUri(secret: string, issuer: string, account: string): string {
  return totp(secret, issuer, account).toString();
}

/**
 * The time step a code matches, if it is later than `lastStep`: each code is accepted once, so a
 * code seen over someone's shoulder cannot be replayed within its window (RFC 6238 §5.2).
 */
export function matchTotp(secret: string, code: string, now: number, lastStep: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secret, 'gatehouse', 'user').validate({ token: code, timestamp: now, window: WINDOW });
  if (delta === null) return null;
  const step = Math.floor(now / 1000 / PERIOD_SECONDS) + delta;
  return step > lastStep ? step : null;
}

/** The current code, for tests and for the enrolment check in the CLI. */
export function currentTotp(secret: string, now: number): string {
  return totp(secret, 'gatehouse', 'user').generate({ timestamp: now });
}

function totp(secret: string, issuer: string, label: string): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD_SECONDS, secret: Secret.fromBase32(secret) });
}

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Ten single-use recovery codes, `xxxxx-xxxxx` (about 49 bits each); shown once, stored hashed. */
export function newRecoveryCodes(count = 10): string[] {
  return Array.from({ length: count }, () => {
    const chars = Array.from({ length: 10 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

export function hashRecoveryCode(code: string, pepper: Pepper): string {
  return hashKey(`recovery:${code.trim().toLowerCase().replace(/[\s-]/g, '')}`, pepper);
}

/** The index of the stored hash a recovery code matches, compared in constant time, or -1. */
export function matchRecoveryCode(code: string, hashes: readonly string[], pepper: Pepper): number {
  const candidate = hashRecoveryCode(code, pepper);
  let found = -1;
  hashes.forEach((h, i) => {
    if (hashesEqual(h, candidate)) found = i;
  });
  return found;
}
