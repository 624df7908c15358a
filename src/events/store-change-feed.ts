import type { AuditChange, AuditRepo } from '../store/port.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import { PeriodicTask } from '../telemetry/periodic-task.ts';
import type { ChangeBus, ChangeEvent } from './change-bus.ts';

export const CHANGE_FEED = 'change-feed';

/**
 * Key entries that change nothing a node may hold: a new key's secret and id are fresh, so no cache
 * has an entry for them, and an exchange only records a token. Dropping the key on them would throw
 * away an entry loaded just after, fresh as it is.
 */
const KEY_ACTIONS_WITHOUT_CACHE = new Set(['key.created', 'key.exchanged']);

/** The cache a change makes stale, by what the audit entry names; other entries change no cache. */
export function changeEventOf(change: Pick<AuditChange, 'action' | 'targetType' | 'targetId'>): ChangeEvent | null {
  switch (change.targetType) {
    case 'key':
      return KEY_ACTIONS_WITHOUT_CACHE.has(change.action) ? null : { type: 'key.changed', keyId: change.targetId };
    case 'policy':
      return { type: 'policy.changed', policyId: change.targetId };
    case 'api':
      return { type: 'api.changed', apiId: change.targetId };
    case 'client':
      return { type: 'client.changed', clientId: change.targetId };
    case 'signing_key':
      return { type: 'signing_keys.changed' };
    default:
      return null;
  }
}

export interface StoreChangeFeedOptions {
  audit: Pick<AuditRepo, 'after' | 'lastSeq'>;
  /** The node's own bus: what other nodes changed is published here, as local changes are. */
  changes: ChangeBus;
  health: HealthReporter;
  intervalMs: number;
  /** Entries read per query; a round reads on until it has caught up. */
  batch?: number;
}

/**
 * Changes made on other nodes (or other processes on the same SQLite file), read from the store:
 * every change is audited in its own transaction, and the audit log is read in commit order
 * (AuditRepo.after), so a node that polls it misses nothing, however long it was away. This is the
 * outer bound of how stale a node's caches can be; a doorbell (Redis pub/sub) may `poke()` it to
 * read at once. A change this node made itself comes back too: its caches drop the entry once more.
 */
export class StoreChangeFeed {
  readonly #options: StoreChangeFeedOptions;
  readonly #task: PeriodicTask;
  #seq: number | null = null;
  #poked = false;

  constructor(options: StoreChangeFeedOptions) {
    this.#options = options;
    this.#task = new PeriodicTask({ component: CHANGE_FEED, critical: false, health: options.health, intervalMs: options.intervalMs, run: () => this.#read() });
  }

  /** Starts after the newest entry: the caches were just filled from the store as it is now. */
  async start(): Promise<void> {
    this.#seq = await this.#options.audit.lastSeq();
    this.#task.start();
  }

  /** Read now (a doorbell rang); during a read, once more after it: that read may have started before the change committed. */
  poke(): void {
    this.#poked = true;
    this.#task.trigger();
  }

  /** The last seq read: how far this node has caught up. */
  get seq(): number | null {
    return this.#seq;
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }

  async #read(): Promise<void> {
    const batch = this.#options.batch ?? 500;
    do {
      this.#poked = false;
      for (;;) {
        const changes = await this.#options.audit.after(this.#seq ?? 0, batch);
        for (const change of changes) {
          const event = changeEventOf(change);
          if (event) this.#options.changes.publish(event);
          this.#seq = change.seq;
        }
        if (changes.length < batch) break;
      }
    } while (this.#poked);
  }
}
