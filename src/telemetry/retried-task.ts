import type { HealthReporter } from './health.ts';

/**
 * Work an event asked for once (a change read from the feed, which will not come again): reported
 * to readiness under `component`, and after a failure tried again every `retryMs` until it succeeds,
 * is asked for anew, or is stopped. A stopped task neither retries nor reports a late failure.
 */
export function retriedTask(health: HealthReporter, component: string, work: () => Promise<void>, retryMs: number) {
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = (): void => {
    clearTimeout(retry);
    if (stopped) return;
    void health.run(component, () =>
      work().catch((error: unknown) => {
        if (stopped) return;
        retry = setTimeout(run, retryMs).unref();
        throw error;
      }),
    );
  };
  const stop = (): void => {
    stopped = true;
    clearTimeout(retry);
  };
  return { run, stop };
}
