/**
 * Waits for a condition instead of sleeping a fixed time: checks `condition` now and then every
 * `intervalMs` until it returns something truthy (which it returns), and fails after `timeoutMs`.
 * For what only the wall clock moves (a library's own timer, a file watcher, another process);
 * what Gatehouse times itself is moved with the harness's TestClock instead.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<Truthy<T>> {
  const { timeoutMs = 5000, intervalMs = 20, what = 'the condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;
