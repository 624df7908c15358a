/**
 * Where a parsed input (a JSON body or a query) holds text no store keeps as sent, in a string or a
 * name, as a path of names and indexes; null when it does not:
 * - U+0000, which PostgreSQL's text and jsonb cannot store (PostgreSQL documentation, §8.3 and §8.14),
 *   though JSON can carry it (RFC 8259 §7, `\u0000`) and a query can (`%00`);
 * - a lone surrogate (`\ud800` in JSON, RFC 8259 §8.2), which is no character: jsonb refuses it, and
 *   UTF-8 encoding turns it into U+FFFD in a text column, so what is kept is not what was sent.
 * Refused at the door with the field named, it is bad input on every store, instead of a 500 on one
 * store and data on the other.
 */
export function unstorableTextAt(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (typeof value === 'string') return unstorable(value) ? path : null;
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unstorableTextAt(value[i], [...path, i]);
      if (found) return found;
    }
    return null;
  }
  for (const [name, inner] of Object.entries(value)) {
    if (unstorable(name)) return [...path, JSON.stringify(name).slice(1, -1)];
    const found = unstorableTextAt(inner, [...path, name]);
    if (found) return found;
  }
  return null;
}

const unstorable = (text: string): boolean => text.includes('\u0000') || !text.isWellFormed();
