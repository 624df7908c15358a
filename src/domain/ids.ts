import { randomBytes } from 'node:crypto';

export const ID_PREFIXES = {
  api: 'api',
  app: 'app',
  policy: 'pol',
  key: 'key',
  adminKey: 'adk',
  audit: 'aud',
  user: 'usr',
  client: 'cli',
  signingKey: 'sig',
  event: 'evt',
  webhook: 'whk',
  webhookSecret: 'whs',
  delivery: 'dlv',
} as const;

let lastMs = 0;
let sequence = 0;

/**
 * `<prefix>_<12 hex ms><4 hex sequence><12 hex random>`: ids sort by creation order within this
 * process (the sequence orders ids made in the same millisecond, or while the clock stands still in
 * tests), which keeps cursor pagination stable and index inserts append-only.
 */
export function newId(kind: keyof typeof ID_PREFIXES, now: number = Date.now()): string {
  if (now > lastMs) ((lastMs = now), (sequence = 0));
  else if (sequence === 0xffff) ((lastMs += 1), (sequence = 0));
  else sequence += 1;
  return `${ID_PREFIXES[kind]}_${lastMs.toString(16).padStart(12, '0')}${sequence.toString(16).padStart(4, '0')}${randomBytes(6).toString('hex')}`;
}
