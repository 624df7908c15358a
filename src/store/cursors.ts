import type { KeyAddressUse } from './port.ts';

// Cursors of the lists that are not ordered by id: every adapter writes and reads them the same way.

/** `<lastSeen>_<address>`: the last row of a page, in the order pages are read (no address has a `_`). */
export const addressCursor = (use: Pick<KeyAddressUse, 'lastSeen' | 'address'>): string => `${use.lastSeen}_${use.address}`;

export function parseAddressCursor(cursor: string): { lastSeen: number; address: string } {
  const match = /^(\d{1,16})_([^_\s]{1,64})$/.exec(cursor);
  if (!match) throw new Error('not a key address cursor');
  return { lastSeen: Number(match[1]), address: match[2]! };
}

/** `<at>_<id>`: the last entry of a page, in the order pages are read. */
export function parseRequestCursor(cursor: string): { at: number; id: number } {
  const match = /^(\d{1,16})_(\d{1,19})$/.exec(cursor);
  if (!match) throw new Error('not a request log cursor');
  return { at: Number(match[1]), id: Number(match[2]) };
}

export const requestCursor = (at: number, id: number): string => `${at}_${id}`;
