import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Requests a gateway has taken and not yet finished with: answered, counted (usage) and handed to its
 * observers (request log, analytics, metrics). A stop waits for none to be left before its last
 * flushes, so a request cut when the listener closed, whose pipeline ends after the cut (a store read,
 * a Redis call, the upstream call aborted), is still counted and recorded; and it tells the answers not
 * yet begun to close their connections, so their clients send the next request elsewhere.
 */
export class InProgress {
  readonly #responses = new Set<ServerResponse>();
  #waiting: (() => void)[] = [];

  get count(): number {
    return this.#responses.size;
  }

  begin(res: ServerResponse): void {
    this.#responses.add(res);
  }

  end(res: ServerResponse): void {
    this.#responses.delete(res);
    if (this.#responses.size > 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const done of waiting) done();
  }

  /** Each answer whose head is not yet written says `Connection: close` (RFC 9112 §9.6) and ends its connection. */
  closeAfterAnswers(): void {
    for (const res of this.#responses) if (!res.headersSent) res.shouldKeepAlive = false;
  }

  /** True once none is left; false when some still are after `timeoutMs`. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.#responses.size === 0) return Promise.resolve(true);
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

/**
 * A stop's first step: from now on every answer of `server` ends its connection, those not yet begun
 * and those of requests still arriving on open connections, so a keep-alive client (a load balancer's
 * pool) takes its next request elsewhere instead of this listener serving on through its grace.
 */
export function closeAfterAnswers(server: Server, inProgress: InProgress): void {
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => void (res.shouldKeepAlive = false));
  inProgress.closeAfterAnswers();
}
