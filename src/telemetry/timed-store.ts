import type { Store } from '../store/port.ts';

/**
 * How long store calls take: asked once per repository method, on its first call, for the function
 * that records each call (milliseconds, and the error when it failed; undefined when it did not).
 */
export type StoreTiming = (repository: string, operation: string) => (ms: number, error: unknown) => void;

/**
 * The store with every repository method timed: the store's latency as its callers see it (a write
 * includes its transaction and audit entry). A wrapper, so every adapter gets it unchanged and the
 * adapters know nothing of metrics. Store calls are never on the gateway's cached path.
 */
export function timedStore(store: Store, timing: StoreTiming): Store {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(store)) {
    out[name] =
      typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(store)
        : value !== null && typeof value === 'object'
          ? timedRepo(value, name, timing)
          : value;
  }
  return out as unknown as Store;
}

/** One repository (an object of async methods) with each method timed under `repository`. */
export function timedRepo<R extends object>(repo: R, repository: string, timing: StoreTiming): R {
  const out: Record<string, unknown> = {};
  for (const [operation, fn] of Object.entries(repo)) {
    if (typeof fn !== 'function') {
      out[operation] = fn;
      continue;
    }
    let record: ((ms: number, error: unknown) => void) | null = null;
    out[operation] = async (...args: unknown[]) => {
      record ??= timing(repository, operation);
      const started = performance.now();
      try {
        const result: unknown = await (fn as (...a: unknown[]) => unknown).apply(repo, args);
        record(performance.now() - started, undefined);
        return result;
      } catch (error) {
        record(performance.now() - started, error);
        throw error;
      }
    };
  }
  return out as R;
}
