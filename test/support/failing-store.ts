import { StorageUnavailableError, type Store } from '../../src/store/port.ts';

/**
 * Makes `method` of a store repository fail as a store going away does (StorageUnavailableError) while
 * `away()` holds and `when` accepts its arguments; otherwise it answers as before.
 */
export function failWhile(repo: object, method: string, away: () => boolean, when: (...args: any[]) => boolean = () => true): void {
  const target = repo as Record<string, unknown>;
  const original = target[method];
  if (typeof original !== 'function') return;
  target[method] = async (...args: unknown[]) => {
    if (away() && when(...args)) throw new StorageUnavailableError('the store is away', { cause: new Error('connection reset') });
    return original.apply(repo, args);
  };
}

/** Every store call that revokes a grant fails while `away()` holds; deleting a single token does not. */
export function failGrantRevocationsWhile(store: Pick<Store, 'oidc' | 'revocations'>, away: () => boolean): void {
  failWhile(store.oidc, 'revokeByGrantId', away);
  failWhile(store.oidc, 'revokeGrant', away);
  failWhile(store.oidc, 'destroy', away, (model: string) => model === 'Grant');
  failWhile(store.revocations, 'add', away);
}
