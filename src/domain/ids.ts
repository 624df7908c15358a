import { randomBytes } from 'node:crypto';

export const ID_PREFIXES = {
  api: 'api',
  app: 'app',
  policy: 'pol',
  key: 'key',
  adminKey: 'adk',
  audit: 'aud',
} as const;

/**
 * `<prefix>_<12 hex ms timestamp><16 hex random>`: ids sort by creation time, which keeps
 * cursor pagination stable and index inserts append-only.
 */
export function newId(kind: keyof typeof ID_PREFIXES, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${now.toString(16).padStart(12, '0')}${randomBytes(8).toString('hex')}`;
}
