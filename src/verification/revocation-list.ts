import type { ChangeBus } from '../events/change-bus.ts';
import type { RevocationRepo } from '../store/port.ts';
import type { HealthReporter } from '../telemetry/health.ts';

/**
 * Revoked grants and access-token ids in memory, so checking a JWT costs two Set lookups. Local
 * revocations arrive at once through the change bus; those made by other nodes arrive by polling the
 * store every `pollMs`, which is the bound on how late another node's revocation takes effect here.
 */
export const REVOCATION_FEED = 'revocation-feed';

/**
 * How far back each poll reads again. A revocation is stamped with its node's clock when the revoke
 * began, and committed after other store writes (a grant's records go first): it may arrive in the
 * store with a time before another node's last poll, by that delay plus the clocks' difference.
 * Reading a minute again costs little (revocations are rare; re-reading one changes nothing).
 */
const POLL_OVERLAP_MS = 60_000;

export class RevocationList {
  readonly #repo: RevocationRepo;
  readonly #clock: () => number;
  readonly #grants = new Map<string, number>();
  readonly #tokens = new Map<string, number>();
  #seenUntil = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(repo: RevocationRepo, changes: ChangeBus, clock: () => number) {
    this.#repo = repo;
    this.#clock = clock;
    changes.subscribe((event) => {
      if (event.type === 'token.revoked') this.#remember(event.kind, event.id, Infinity);
    });
  }

  /** A failed poll is logged and makes the node unready: other nodes' revocations would stop arriving. */
  async start(pollMs: number, health: HealthReporter): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void health.run(REVOCATION_FEED, () => this.refresh()), pollMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Reads revocations newer than the last read; drops entries whose tokens have all expired. */
  async refresh(): Promise<void> {
    const now = this.#clock();
    // Overlap: a revocation committed late, or stamped by a clock behind this one, is not missed.
    const found = await this.#repo.since(Math.max(0, this.#seenUntil - POLL_OVERLAP_MS), now);
    for (const r of found) this.#remember(r.kind, r.id, r.expiresAt);
    this.#seenUntil = now;
    for (const map of [this.#grants, this.#tokens]) for (const [id, expiresAt] of map) if (expiresAt <= now) map.delete(id);
  }

  isRevoked(grantId: string | undefined, tokenId: string | undefined): boolean {
    return (grantId !== undefined && this.#grants.has(grantId)) || (tokenId !== undefined && this.#tokens.has(tokenId));
  }

  #remember(kind: 'grant' | 'token', id: string, expiresAt: number): void {
    const map = kind === 'grant' ? this.#grants : this.#tokens;
    const known = map.get(id);
    // Local events carry no expiry; the next read from the store replaces Infinity with the real one.
    map.set(id, known === undefined || known === Infinity ? expiresAt : Math.max(known, expiresAt));
  }
}
