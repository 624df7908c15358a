import { StorageUnavailableError } from './port.ts';

/** What a write apart left when the store went away on the way: to be kept for a later flush. */
export interface LeftUnwritten<T> {
  unwritten: T[];
  cause: StorageUnavailableError;
}

/**
 * Writes items the store refused together (for what they hold, not for being unreachable) in halves,
 * and each half it refuses in halves again, until a refused item stands alone: that one goes to
 * `refused`, the rest are written. Resent whole, the part would be refused at every flush and hold
 * back everything after it. The store going away on the way (StorageUnavailableError) ends it: what is
 * not yet written is answered, with the cause, so nothing is written twice or lost. Null: all done.
 * Used by the request log and usage analytics.
 */
export async function writeApart<T>(
  items: readonly T[],
  write: (piece: T[]) => Promise<void>,
  refused: (item: T, error: unknown) => void,
): Promise<LeftUnwritten<T> | null> {
  const pieces = halves(items);
  while (pieces.length > 0) {
    const piece = pieces.shift()!;
    try {
      await write(piece);
    } catch (error) {
      if (error instanceof StorageUnavailableError) return { unwritten: [piece, ...pieces].flat(), cause: error };
      if (piece.length > 1) pieces.unshift(...halves(piece));
      else refused(piece[0]!, error);
    }
  }
  return null;
}

function halves<T>(items: readonly T[]): T[][] {
  const half = Math.ceil(items.length / 2);
  return items.length > 1 ? [items.slice(0, half), items.slice(half)] : [[...items]];
}
