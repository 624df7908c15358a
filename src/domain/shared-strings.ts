/**
 * One copy of each of a few strings that many long-lived records would otherwise each hold a copy of.
 * Equal strings read from the store (JSON.parse), or structured-cloned from another thread, are
 * separate objects: 48 bytes for an id, per record (issue 14: 100k hot keys of one app held 100k copies
 * of its id). Bounded: past `max` distinct strings it starts over, which costs only copies again.
 */
export class SharedStrings {
  readonly #max: number;
  #seen = new Map<string, string>();

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`SharedStrings needs a positive integer bound, not ${max}`);
    this.#max = max;
  }

  /** The copy held for strings equal to `value` (`value` itself when it is the first). */
  of(value: string): string {
    const held = this.#seen.get(value);
    if (held !== undefined) return held;
    if (this.#seen.size >= this.#max) this.#seen = new Map();
    this.#seen.set(value, value);
    return value;
  }

  /** Distinct strings held now. */
  get size(): number {
    return this.#seen.size;
  }
}
