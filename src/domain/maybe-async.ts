/**
 * Values that are usually ready now and only sometimes later: a cached key, an in-memory limiter.
 * Awaiting them would make a promise (and a microtask hop) per request for nothing.
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * `f(value, a, b)` now when `value` is a plain value, or once it settles when it is a promise. No
 * promise is made for a plain value; pass what `f` needs as `a` and `b` (rather than closing over
 * it) and no closure is made either, which keeps the gateway's hot path free of allocations. A throw
 * in `f` on the synchronous path reaches the caller as a throw, as a direct call would.
 *
 * Not named `then`: a module that exports `then` is a thenable, and `await import()` of it would call it.
 */
export function andThen<T, R>(value: MaybePromise<T>, f: (value: T) => R): R | Promise<Awaited<R>>;
export function andThen<T, A, R>(value: MaybePromise<T>, f: (value: T, a: A) => R, a: A): R | Promise<Awaited<R>>;
export function andThen<T, A, B, R>(value: MaybePromise<T>, f: (value: T, a: A, b: B) => R, a: A, b: B): R | Promise<Awaited<R>>;
export function andThen<T, A, B, R>(value: MaybePromise<T>, f: (value: T, a?: A, b?: B) => R, a?: A, b?: B): unknown {
  return value instanceof Promise ? value.then((resolved) => f(resolved, a, b)) : f(value, a, b);
}
