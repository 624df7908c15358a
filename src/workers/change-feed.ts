import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { ChangeBus, ChangeEvent } from '../events/change-bus.ts';

/**
 * Change events from the control plane (main thread) to every gateway worker, so that a change the
 * admin API has answered is in force for the next request at every worker, not a message later.
 *
 * The main thread posts each event on every worker's channel, then increments a generation counter in
 * shared memory. A worker compares that counter with the one it has applied before each request (one
 * Atomics.load) and, when behind, takes the waiting events off its channel synchronously
 * (receiveMessageOnPort) and publishes them on its local bus first. An idle worker gets them through
 * the channel's ordinary message event.
 */
export class ChangeBroadcast {
  readonly generation = new SharedArrayBuffer(4);
  readonly #counter = new Int32Array(this.generation);
  readonly #ports = new Map<number, MessagePort>();

  constructor(changes: ChangeBus) {
    changes.subscribe((event) => {
      for (const port of this.#ports.values()) port.postMessage(event);
      Atomics.add(this.#counter, 0, 1);
    });
  }

  /** The main thread's end of worker `index`'s channel (replacing a dead worker's). */
  attach(index: number, port: MessagePort): void {
    this.#ports.get(index)?.close();
    this.#ports.set(index, port);
  }

  detach(index: number): void {
    this.#ports.get(index)?.close();
    this.#ports.delete(index);
  }
}

/** A worker's end: republishes the main thread's events on the worker's local bus. */
export class ChangeFeed {
  readonly #port: MessagePort;
  readonly #counter: Int32Array;
  readonly #bus: ChangeBus;
  #applied = 0;

  constructor(port: MessagePort, generation: SharedArrayBuffer, bus: ChangeBus) {
    this.#port = port;
    this.#counter = new Int32Array(generation);
    this.#bus = bus;
    this.#applied = Atomics.load(this.#counter, 0);
    port.on('message', (event: ChangeEvent) => bus.publish(event));
  }

  /** Applies every event published before now; costs one Atomics.load when there is none. */
  readonly sync = (): void => {
    const generation = Atomics.load(this.#counter, 0);
    if (generation === this.#applied) return;
    for (let message = receiveMessageOnPort(this.#port); message; message = receiveMessageOnPort(this.#port)) this.#bus.publish(message.message as ChangeEvent);
    this.#applied = generation;
  };

  close(): void {
    this.#port.close();
  }
}
