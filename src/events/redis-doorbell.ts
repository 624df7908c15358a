import type { Redis } from 'ioredis';
import type { HealthReporter } from '../telemetry/health.ts';
import type { ChangeBus } from './change-bus.ts';

export const CHANGE_DOORBELL = 'change-doorbell';
const CHANNEL = 'gatehouse:changes';

/**
 * Redis pub/sub as a doorbell for the store change feed: a node that commits a change rings
 * (PUBLISH), every node that hears it reads the feed at once. The message carries nothing but
 * "read now": what changed is read from the store, in commit order. Rings lost while Redis was away
 * are made up when it returns: the subscriber reads the feed once it is subscribed again, and a
 * publisher whose ring failed rings again once reconnected, so a node is not left waiting for its
 * next poll. Rings are coalesced: one per event-loop turn however many changes a request made.
 */
export class RedisDoorbell {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #health: HealthReporter;
  #pending = false;
  #unheard = false;

  constructor(publisher: Redis, subscriber: Redis, health: HealthReporter) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#health = health;
    health.register(CHANGE_DOORBELL, false);
    publisher.on('ready', () => {
      if (this.#unheard) this.ring();
    });
  }

  /** Calls `onRing` whenever any node rings. */
  async listen(onRing: () => void): Promise<void> {
    this.#subscriber.on('message', (channel: string) => channel === CHANNEL && onRing());
    try {
      await this.#subscriber.subscribe(CHANNEL);
    } catch (error) {
      // Redis away as the node starts: it starts anyway (the feed polls), and subscribes on the first 'ready' below.
      this.#health.failed(CHANGE_DOORBELL, error);
    }
    // Registered once subscribed (or refused): every later 'ready' is a (re)connection.
    this.#subscriber.on('ready', () => {
      // (Re)connected: SUBSCRIBE again (idempotent) and read once it is confirmed, so a change committed
      // while we were away is read now and any later ring is heard.
      this.#subscriber.subscribe(CHANNEL).then(
        () => {
          this.#health.ok(CHANGE_DOORBELL);
          onRing();
        },
        (error: unknown) => this.#health.failed(CHANGE_DOORBELL, error),
      );
    });
  }

  ring(): void {
    if (this.#pending) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      this.#unheard = false;
      this.#publisher.publish(CHANNEL, '1').then(
        () => this.#health.ok(CHANGE_DOORBELL),
        // Rung again when the publisher reconnects; the other nodes' polls remain the outer bound.
        (error: unknown) => {
          this.#unheard = true;
          this.#health.failed(CHANGE_DOORBELL, error);
        },
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
