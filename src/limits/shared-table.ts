import { randomFillSync } from 'node:crypto';
import { isMainThread, threadId } from 'node:worker_threads';
import { LimiterUnavailableError } from './port.ts';

/** The two running hashes of SharedTable.name, kept here so that hashing a name allocates nothing. */
const HASH_STATE = new Int32Array(2);

function mixChar(h: Int32Array, c: number): void {
  h[0] = Math.imul(h[0]! ^ c, 0x01000193); // FNV-1a
  let b = Math.imul(h[1]! ^ c, 0x5bd1e995); // a murmur-style multiply with its own seed
  b ^= b >>> 15;
  h[1] = b;
}

function mix(h: Int32Array, text: string): void {
  for (let i = 0; i < text.length; i++) mixChar(h, text.charCodeAt(i));
}

/**
 * A fixed-size hash table in a SharedArrayBuffer that every thread of the process can map: the state
 * behind the limits that must stay exact across gateway workers (rate limits, quotas, the failure
 * throttle, the DPoP replay set). Each entry is a counter name's 64-bit hash and two numbers: a
 * value and the time the entry stops meaning anything (`expiresAt`, ms). An expired entry is the same
 * as no entry, so nobody deletes one: an insert reuses it, and `compact` (the sweeper) clears them.
 *
 * Concurrency: the table is cut into stripes, each a contiguous run of slots with its own lock word;
 * a name always lives in its stripe (linear probing wraps inside it), so holding a stripe's lock is
 * holding every slot a name could be in. A caller that needs several names (one all-or-nothing
 * consume) takes their stripes in ascending order, so two callers never wait on each other in a
 * cycle. Locks are taken with Atomics.compareExchange, which also orders the plain reads and writes
 * made under them (the ECMAScript memory model: a data-race-free program is sequentially consistent).
 * Critical sections are a few hundred nanoseconds of arithmetic; a waiter spins, then sleeps in
 * Atomics.wait for at most a millisecond at a time.
 *
 * Capacity is fixed at creation (a SharedArrayBuffer cannot grow and be seen by every thread): when a
 * new name finds its stripe full of live entries, `claim` answers -1 and the caller decides (the
 * limiter refuses the request: a limit it cannot count is not a limit; see docs/architecture.md).
 * Names are told apart by two independent 32-bit hashes (63 bits, one forced odd to mark a used
 * slot): two names collide with probability about n^2 / 2^64, which for a million counters is 1 in
 * 3.6e7 per table and would make two counters share one state, never admit more than either allows.
 * Both hashes start from a random seed drawn when the table is allocated (kept in its header, so every
 * thread hashes alike): some names come from callers (a DPoP proof's `jti`, a client address), and
 * with a fixed hash anyone could work out offline which names share a stripe, then fill a victim's
 * stripe with live entries so that its counters could not be claimed (a targeted refusal).
 */
export class SharedTable {
  readonly buffer: SharedArrayBuffer;
  readonly #header: Int32Array;
  readonly #locks: Int32Array;
  /** Two Int32 per slot: the hashes; the second is odd for a used slot and 0 for an empty one. */
  readonly #hashes: Int32Array;
  /** Two Float64 per slot: the value, and the time after which the entry is as good as absent. */
  readonly #values: Float64Array;
  readonly #stripes: number;
  readonly #perStripe: number;
  readonly #seed1: number;
  readonly #seed2: number;
  /** The lock word a holder writes: this thread's id + 1, so the main thread can free a dead worker's locks. */
  readonly #owner = threadId + 1;

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#header = new Int32Array(buffer, 0, HEADER_INTS);
    if (this.#header[0] !== MAGIC) throw new Error('not a SharedTable buffer');
    this.#stripes = this.#header[1]!;
    this.#perStripe = this.#header[2]!;
    this.#seed1 = this.#header[SEED]!;
    this.#seed2 = this.#header[SEED + 1]!;
    const slots = this.#stripes * this.#perStripe;
    this.#locks = new Int32Array(buffer, HEADER_INTS * 4, this.#stripes);
    const hashesAt = align8((HEADER_INTS + this.#stripes) * 4);
    this.#hashes = new Int32Array(buffer, hashesAt, slots * 2);
    this.#values = new Float64Array(buffer, hashesAt + slots * 8, slots * 2);
  }

  /** A zeroed table for at least `entries` entries (rounded up to whole stripes). */
  static allocate(entries: number): SharedArrayBuffer {
    if (!(entries >= 1)) throw new Error('SharedTable needs at least one entry');
    const stripes = Math.min(MAX_STRIPES, Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, entries / MIN_PER_STRIPE)))));
    const perStripe = Math.ceil(entries / stripes);
    const slots = stripes * perStripe;
    const buffer = new SharedArrayBuffer(align8((HEADER_INTS + stripes) * 4) + slots * 8 + slots * 16);
    const header = new Int32Array(buffer, 0, HEADER_INTS);
    header[0] = MAGIC;
    header[1] = stripes;
    header[2] = perStripe;
    randomFillSync(header.subarray(SEED, SEED + 2));
    return buffer;
  }

  get capacity(): number {
    return this.#stripes * this.#perStripe;
  }

  /** Names refused since start because their stripe was full (read by the sweeper for readiness). */
  get overflows(): number {
    return Atomics.load(this.#header, OVERFLOWS);
  }

  noteOverflow(): void {
    Atomics.add(this.#header, OVERFLOWS, 1);
  }

  /**
   * Hashes a name once; the result is what the other methods take. With `within`, the name of `text`
   * within it (a limiter's counter within its subject): hashed as `within`, a NUL, `text`, with no
   * string made for the whole.
   */
  name(text: string, within?: string): Name {
    const h = HASH_STATE;
    h[0] = this.#seed1;
    h[1] = this.#seed2;
    if (within !== undefined) {
      mix(h, within);
      mixChar(h, 0);
    }
    mix(h, text);
    let a = h[0]!;
    let b = h[1]!;
    a ^= a >>> 16;
    a = Math.imul(a, 0x85ebca6b);
    a ^= a >>> 13;
    b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
    b ^= b >>> 16;
    return { stripe: (a >>> 0) % this.#stripes, h1: a | 0, h2: b | 1 };
  }

  /**
   * Where a name's probe starts in its stripe: from the second hash, not the first, whose low bits
   * already chose the stripe. With stripes and slots per stripe both powers of two (the default table:
   * 1,024 × 1,024), every name of a stripe started at the same slot, so each stripe was one chain that
   * a claim or a miss walked to its end, under the stripe's lock.
   */
  #start(name: Name): number {
    return (name.h2 >>> 1) % this.#perStripe;
  }

  /**
   * Takes the stripes of these names (each once, in ascending order); pair with `unlock(same)`. On the
   * main thread it may throw SharedTableBusyError (see #acquire), having taken none of them.
   */
  lock(stripes: readonly number[]): void {
    for (let i = 0; i < stripes.length; i++) {
      try {
        this.#acquire(stripes[i]!);
      } catch (error) {
        this.unlock(stripes.slice(0, i));
        throw error;
      }
    }
  }

  unlock(stripes: readonly number[]): void {
    for (let i = stripes.length - 1; i >= 0; i--) Atomics.store(this.#locks, stripes[i]!, 0);
  }

  /** The stripes of these names, distinct and sorted: the order `lock` must take them in. */
  stripesOf(names: readonly Name[]): number[] {
    if (names.length === 1) return [names[0]!.stripe];
    // A request has a handful of counters: an insertion into a sorted list, not a Set, a copy and a sort.
    const stripes: number[] = [];
    for (const { stripe } of names) {
      let i = stripes.length;
      while (i > 0 && stripes[i - 1]! > stripe) i--;
      if (stripes[i - 1] !== stripe) stripes.splice(i, 0, stripe);
    }
    return stripes;
  }

  /** The slot holding this name, expired or not, or -1. Call with its stripe locked. */
  find(name: Name): number {
    const base = name.stripe * this.#perStripe;
    const start = this.#start(name);
    for (let probe = 0; probe < this.#perStripe; probe++) {
      const slot = base + ((start + probe) % this.#perStripe);
      const h2 = this.#hashes[slot * 2 + 1]!;
      if (h2 === 0) return -1;
      if (h2 === name.h2 && this.#hashes[slot * 2] === name.h1) return slot;
    }
    return -1;
  }

  /**
   * The slot for this name: its own, else the first expired or empty slot on its probe path (taken
   * for it, with a value of 0 and expired), else -1 when the stripe holds only live entries of other
   * names. Call with its stripe locked. `taken`: slots claimed for other names of the same change,
   * which read as expired until it writes them but are not free: taking one would give two counters
   * one slot, and the first would lose its count.
   */
  claim(name: Name, now: number, taken?: readonly number[]): number {
    const base = name.stripe * this.#perStripe;
    const start = this.#start(name);
    let free = -1;
    for (let probe = 0; probe < this.#perStripe; probe++) {
      const slot = base + ((start + probe) % this.#perStripe);
      const h2 = this.#hashes[slot * 2 + 1]!;
      if (h2 === name.h2 && this.#hashes[slot * 2] === name.h1) return slot;
      if (h2 === 0) {
        if (free === -1) free = slot;
        break;
      }
      if (free === -1 && this.#values[slot * 2 + 1]! <= now && !taken?.includes(slot)) free = slot;
    }
    if (free === -1) return -1;
    this.#hashes[free * 2] = name.h1;
    this.#hashes[free * 2 + 1] = name.h2;
    this.#values[free * 2] = 0;
    this.#values[free * 2 + 1] = 0;
    return free;
  }

  value(slot: number): number {
    return this.#values[slot * 2]!;
  }

  expiresAt(slot: number): number {
    return this.#values[slot * 2 + 1]!;
  }

  set(slot: number, value: number, expiresAt: number): void {
    this.#values[slot * 2] = value;
    this.#values[slot * 2 + 1] = expiresAt;
  }

  /**
   * Drops expired entries, one stripe at a time under its lock, and re-packs the live ones so probe
   * paths stay short (an expired entry keeps its slot until then, which keeps lookups correct).
   */
  compact(now: number): void {
    const live: number[] = [];
    for (let stripe = 0; stripe < this.#stripes; stripe++) {
      // A stripe held now is left for the next sweep: the holder may be a worker that died in it,
      // whose locks the main thread frees only when it handles the exit, after this returns.
      if (Atomics.compareExchange(this.#locks, stripe, 0, this.#owner) !== 0) continue;
      try {
        const base = stripe * this.#perStripe;
        live.length = 0;
        for (let slot = base; slot < base + this.#perStripe; slot++) {
          if (this.#hashes[slot * 2 + 1] !== 0 && this.#values[slot * 2 + 1]! > now)
            live.push(this.#hashes[slot * 2]!, this.#hashes[slot * 2 + 1]!, this.#values[slot * 2]!, this.#values[slot * 2 + 1]!);
          this.#hashes[slot * 2] = this.#hashes[slot * 2 + 1] = 0;
          this.#values[slot * 2] = this.#values[slot * 2 + 1] = 0;
        }
        for (let i = 0; i < live.length; i += 4) {
          const slot = this.claim({ stripe, h1: live[i]!, h2: live[i + 1]! }, now);
          this.set(slot, live[i + 2]!, live[i + 3]!);
        }
      } finally {
        Atomics.store(this.#locks, stripe, 0);
      }
    }
  }

  /**
   * Frees the locks a thread held when it died (a worker that exits inside a critical section, which
   * takes a terminate() or a fatal error): called by the main thread when it sees a worker's exit.
   */
  releaseHeldBy(deadThreadId: number): number {
    let released = 0;
    for (let stripe = 0; stripe < this.#stripes; stripe++)
      if (Atomics.compareExchange(this.#locks, stripe, deadThreadId + 1, 0) === deadThreadId + 1) released++;
    return released;
  }

  #acquire(stripe: number): void {
    for (let spins = 0; ; spins++) {
      const held = Atomics.compareExchange(this.#locks, stripe, 0, this.#owner);
      if (held === 0) return;
      if (held === this.#owner) throw new Error('SharedTable: a stripe lock taken twice by one thread');
      // Another thread is inside a few hundred nanoseconds of arithmetic: spin a little, then sleep.
      if (spins > SPINS_BEFORE_SLEEP) {
        Atomics.wait(this.#locks, stripe, held, 1);
        // A lock held this long belongs to a worker that died holding it. The main thread frees those
        // when it handles the worker's exit, which it cannot while it waits here: it gives up instead.
        if (isMainThread && spins > SPINS_BEFORE_SLEEP + MAIN_THREAD_WAIT_MS) throw new SharedTableBusyError(stripe);
      }
    }
  }
}

/** The main thread waited too long for a stripe: its holder most likely died in it (the call is refused, not admitted). */
export class SharedTableBusyError extends LimiterUnavailableError {
  constructor(stripe: number) {
    super(`SharedTable: stripe ${stripe} stayed locked for ${MAIN_THREAD_WAIT_MS} ms; a gateway worker probably died holding it`);
  }
}

/** A name's hashes and stripe (SharedTable.name). */
export interface Name {
  stripe: number;
  h1: number;
  h2: number;
}

const MAGIC = 0x47485354; // 'GHST'
const HEADER_INTS = 6; // magic, stripes, slots per stripe, overflows, the two hash seeds
const OVERFLOWS = 3;
const SEED = 4;
const MAX_STRIPES = 1024;
const MIN_PER_STRIPE = 64;
const SPINS_BEFORE_SLEEP = 200;
/** The main thread's longest wait for a stripe, in 1 ms sleeps: a live holder keeps one for microseconds. */
const MAIN_THREAD_WAIT_MS = 250;
const align8 = (n: number) => Math.ceil(n / 8) * 8;
