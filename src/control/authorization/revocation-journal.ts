import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** One grant revocation the store failed, as journaled. */
export interface JournaledRevocation {
  grantId: string;
  /** Whether the grant record itself goes too (oidc-provider's revoke of a reused token does). */
  withGrant: boolean;
}

/** The journal's folder under the data dir. */
export const REVOCATION_JOURNAL_DIR = 'grant-revocations-pending';

/**
 * Grant revocations the store failed, on this node's local disk (`<dataDir>/grant-revocations-pending/`,
 * one file per grant), so that a restart (a crash, a deploy) while one is pending does not forget it:
 * the reuse that called for it (RFC 9700 §4.14.2) may never be seen again, since the thief holds the
 * successor and has no reason to present the reused token. Not in the store: it is the store that
 * failed the revocation (the SQLite file's own disk, or PostgreSQL away), and a journal is only worth
 * having where it can be written while the store cannot. Grant ids are not secrets (every access
 * token carries its own as `gid`), but the folder and files are still the owner's only, as the data
 * dir's other files are.
 *
 * A file is written whole elsewhere, synced, renamed over its name and the folder synced, so a crash
 * leaves either the old file or the new one, never a torn one; a revocation is journaled before the
 * request that saw the reuse is answered. Operations run one at a time, and each writes what is
 * pending at that moment (write or remove: `sync`), so a revocation that holds while its journaling is
 * under way never leaves its file behind; one that would write what the file already says does
 * nothing (oidc-provider revokes a reused token's grant model by model, in parallel: one write, not
 * five). Closed (the node stopping), it writes nothing more: a late write of a stopping process must
 * not bring back a file the next one, on the same data dir, has removed. Files are named by the grant id, encoded, so several
 * processes sharing the data dir never overwrite each other's entries; a revocation is idempotent, so
 * one replayed by two of them does no harm.
 */
export class RevocationJournal {
  readonly #dir: string;
  #queue: Promise<unknown> = Promise.resolve();
  /** What each grant's file says, as this process wrote or loaded it (absent: no file). */
  readonly #written = new Map<string, boolean>();
  #closed = false;

  constructor(dataDir: string) {
    this.#dir = join(dataDir, REVOCATION_JOURNAL_DIR);
  }

  get dir(): string {
    return this.#dir;
  }

  /**
   * The revocations journaled (by this process before a restart, or another sharing the data dir).
   * A file that cannot be read as one is reported (`onUnreadable`) and left for an operator to look at:
   * removing it would forget a revocation. No folder: nothing pending.
   */
  async load(onUnreadable: (file: string, error: unknown) => void): Promise<JournaledRevocation[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const found: JournaledRevocation[] = [];
    for (const name of names) {
      // A temporary file a crash left before its rename: its revocation was not journaled yet.
      if (name.startsWith('.')) continue;
      const file = join(this.#dir, name);
      try {
        const entry = JSON.parse(await readFile(file, 'utf8')) as Partial<JournaledRevocation>;
        if (typeof entry.grantId !== 'string' || fileName(entry.grantId) !== name || typeof entry.withGrant !== 'boolean') {
          throw new Error('not a journaled grant revocation');
        }
        found.push({ grantId: entry.grantId, withGrant: entry.withGrant });
        this.#written.set(entry.grantId, entry.withGrant);
      } catch (error) {
        onUnreadable(file, error);
      }
    }
    return found;
  }

  /** Writes the grant's entry as `pending` says it is now (undefined: no longer pending, its file removed). */
  sync(grantId: string, pending: () => boolean | undefined): Promise<void> {
    const run = this.#queue.then(async () => {
      const withGrant = pending();
      if (this.#closed || withGrant === this.#written.get(grantId)) return;
      if (withGrant === undefined) await this.#remove(grantId);
      else await this.#write({ grantId, withGrant });
    });
    // The queue only orders the writes; `run`'s failure goes to its own caller.
    this.#queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.#closed = true;
  }

  async #write(entry: JournaledRevocation): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const name = fileName(entry.grantId);
    const temporary = join(this.#dir, `.${name}.${randomBytes(6).toString('hex')}`);
    const file = await open(temporary, 'wx', 0o600);
    try {
      await file.writeFile(`${JSON.stringify({ ...entry, seenAt: new Date().toISOString() })}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temporary, join(this.#dir, name));
    } catch (error) {
      // Best effort: the rename's error is the one reported; a stray temporary file is skipped at load.
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    this.#written.set(entry.grantId, entry.withGrant);
    await this.#syncDir();
  }

  async #remove(grantId: string): Promise<void> {
    try {
      await unlink(join(this.#dir, fileName(grantId)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.#written.delete(grantId);
      return;
    }
    this.#written.delete(grantId);
    await this.#syncDir();
  }

  /** A rename or unlink is durable once the folder holding it is synced. */
  async #syncDir(): Promise<void> {
    const dir = await open(this.#dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** A grant id as a file name: any characters, none of them a path's (base64url). */
const fileName = (grantId: string): string => Buffer.from(grantId, 'utf8').toString('base64url');
