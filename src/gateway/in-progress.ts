/**
 * Requests a gateway has taken and not yet finished with: answered, counted (usage) and handed to its
 * observers (request log, analytics, metrics). A shutdown waits for none to be left before its last
 * flushes, so a request cut when the listener closed, whose pipeline ends after the cut (a store read,
 * a Redis call, the upstream call aborted), is still counted and recorded.
 */
export class InProgress {
  #count = 0;
  #waiting: (() => void)[] = [];

  get count(): number {
    return this.#count;
  }

  begin(): void {
    this.#count++;
  }

  end(): void {
    if (--this.#count > 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const done of waiting) done();
  }

  /** True once none is left; false when some still are after `timeoutMs`. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiting = this.#waiting.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.#waiting.push(done);
    });
  }
}
