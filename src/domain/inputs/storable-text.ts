/**
 * Where a parsed input (a JSON body or a query) holds U+0000 in a string or a name, as a path of
 * names and indexes; null when it does not. PostgreSQL's text and jsonb cannot store that character
 * (PostgreSQL documentation, §8.3 and §8.14), though JSON can carry it (RFC 8259 §7, `\u0000`) and a
 * query can (`%00`): refused at the door with the field named, it is bad input on every store,
 * instead of a 500 on one store and data on the other.
 */
export function nulAt(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulAt(value[i], [...path, i]);
      if (found) return found;
    }
    return null;
  }
  for (const [name, inner] of Object.entries(value)) {
    if (name.includes('\u0000')) return [...path, name.replaceAll('\u0000', '\\u0000')];
    const found = nulAt(inner, [...path, name]);
    if (found) return found;
  }
  return null;
}
