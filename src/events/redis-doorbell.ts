import type { Redis } from 'ioredis';
import type { HealthReporter } from '../telemetry/health.ts';
import type { ChangeBus } from './change-bus.ts';

export const CHANGE_DOORBELL = 'change-doorbell';
const CHANNEL = 'gatehouse:changes';

/**
 * Redis pub/sub as a doorbell for the store change feed: a node that commits a change rings
 * (PUBLISH), every node that hears it reads the feed at once. The message carries nothing but
 * "read now": what changed is read from the store, in commit order, so a node that missed a ring
 * (disconnected, restarted) still catches up at its next poll. Rings are coalesced: one per
 * event-loop turn however many changes a request made.
 */
export class RedisDoorbell {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #health: HealthReporter;
  #pending = false;

  constructor(publisher: Redis, subscriber: Redis, health: HealthReporter) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#health = health;
    health.register(CHANGE_DOORBELL, false);
  }

  /** Calls `onRing` whenever any node rings. */
  async listen(onRing: () => void): Promise<void> {
    this.#subscriber.on('message', (channel: string) => channel === CHANNEL && onRing());
    await this.#subscriber.subscribe(CHANNEL);
  }

  ring(): void {
    if (this.#pending) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      this.#publisher.publish(CHANNEL, '1').then(
        () => this.#health.ok(CHANGE_DOORBELL),
        // Not lost: the other nodes read the change at their next poll.
        (error: unknown) => this.#health.failed(CHANGE_DOORBELL, error),
      );
    });
  }

  close(): void {
    this.#subscriber.disconnect();
    this.#publisher.disconnect();
  }
}

/** The bus the control plane publishes on: each change goes to this node's caches and rings the doorbell. */
export function ringingBus(bus: ChangeBus, doorbell: RedisDoorbell): ChangeBus {
  return {
    publish(event) {
      bus.publish(event);
      doorbell.ring();
    },
    subscribe: (listener) => bus.subscribe(listener),
  };
}
