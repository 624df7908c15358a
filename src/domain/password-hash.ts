import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Passwords hashed with scrypt (RFC 7914), memory-hard: N = 2^15, r = 8, p = 1 takes 32 MiB and tens
 * of milliseconds per guess. Stored as a PHC-style string so the cost can rise without breaking
 * stored hashes: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64url).
 */
const COST = { ln: 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const derived = await derive(password, salt, COST);
  return `$scrypt$ln=${COST.ln},r=${COST.r},p=${COST.p}$${salt.toString('base64url')}$${derived.toString('base64url')}`;
}

/** Constant-time check; a malformed stored hash never matches. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const derived = await derive(password, parsed.salt, parsed.cost);
  return derived.length === parsed.hash.length && timingSafeEqual(derived, parsed.hash);
}

/** Whether a stored hash was made with weaker settings than today's and should be redone at login. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.cost.ln < COST.ln || parsed.cost.r < COST.r;
}

/**
 * A hash of a random password no one knows. Checking a password against it for an unknown user
 * costs the same as for a real one, so response time does not tell which usernames exist.
 * Made on first use, not at import: a 32 MiB scrypt would slow every process that loads this file
 * (the CLI among them). The authorization server awaits it at start, so no sign-in pays for it.
 */
let decoy: Promise<string> | undefined;
export const DECOY_PASSWORD_HASH: PromiseLike<string> = {
  then(onFulfilled, onRejected) {
    decoy ??= hashPassword(randomBytes(24).toString('base64url'));
    return decoy.then(onFulfilled, onRejected);
  },
};

function derive(password: string, salt: Buffer, cost: { ln: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** cost.ln;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function parse(stored: string): { cost: { ln: number; r: number; p: number }; salt: Buffer; hash: Buffer } | null {
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([\w-]+)\$([\w-]+)$/.exec(stored);
  if (!match) return null;
  const cost = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (cost.ln < 10 || cost.ln > 20 || cost.r < 1 || cost.p < 1) return null;
  return { cost, salt: Buffer.from(match[4]!, 'base64url'), hash: Buffer.from(match[5]!, 'base64url') };
}
