import type { IncomingMessage, Server, ServerResponse } from 'node:http';

const PREV = Symbol('in-progress: previous');
const NEXT = Symbol('in-progress: next');
interface Link {
  [PREV]?: Link | null;
  [NEXT]?: Link | null;
}
type Linked = ServerResponse & Link;

/**
 * Requests a gateway has taken and not yet finished with: answered, counted (usage) and handed to its
 * observers (request log, analytics, metrics). A stop waits for none to be left before its last
 * flushes, so a request cut when the listener closed, whose pipeline ends after the cut (a store read,
 * a Redis call, the upstream call aborted), is still counted and recorded; and it tells the answers not
 * yet begun to close their connections, so their clients send the next request elsewhere.
 *
 * The answers in progress are a list threaded through the responses themselves, unlinked when they
 * end, not a Set: a Set taking and dropping every request rebuilds its table every few dozen requests,
 * and each table it leaves behind still points at the responses it held and at the next table. Once
 * one of them is promoted, every scavenge keeps the next one and the requests it holds alive, so nearly
 * every request was copied to the old generation and collected by a major GC (docs/benchmarks.md, "a
 * twenty-third look": V8's helper threads at 20-27 µs per request, against under 2 without it).
 */
export class InProgress {
  readonly #head: Link = { [PREV]: null, [NEXT]: null };
  #count = 0;
  #waiting: (() => void)[] = [];

  get count(): number {
    return this.#count;
  }

  begin(res: ServerResponse): void {
    const linked = res as Linked;
    if (linked[PREV]) return;
    const first = this.#head[NEXT] ?? null;
    linked[PREV] = this.#head;
    linked[NEXT] = first;
    if (first) first[PREV] = linked;
    this.#head[NEXT] = linked;
    this.#count++;
  }

  end(res: ServerResponse): void {
    const linked = res as Linked;
    const prev = linked[PREV];
    if (!prev) return;
    const next = linked[NEXT] ?? null;
    prev[NEXT] = next;
    if (next) next[PREV] = prev;
    // Unlinked for good: an ended response points at no other, so a promoted one keeps none alive.
    linked[PREV] = null;
    linked[NEXT] = null;
    this.#count--;
    if (this.#count > 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const done of waiting) done();
  }

  /** Each answer whose head is not yet written says `Connection: close` (RFC 9112 §9.6) and ends its connection. */
  closeAfterAnswers(): void {
    for (let link = this.#head[NEXT] ?? null; link; link = link[NEXT] ?? null) {
      const res = link as Linked;
      if (!res.headersSent) res.shouldKeepAlive = false;
    }
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

/**
 * A stop's first step: from now on every answer of `server` ends its connection, those not yet begun
 * and those of requests still arriving on open connections, so a keep-alive client (a load balancer's
 * pool) takes its next request elsewhere instead of this listener serving on through its grace.
 */
export function closeAfterAnswers(server: Server, inProgress: InProgress): void {
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => void (res.shouldKeepAlive = false));
  inProgress.closeAfterAnswers();
}
