/**
 * Secrets recognisable by their shape, wherever they sit (a path segment, a parameter name or value,
 * a user agent): our API, publishable and admin keys and client secrets (`gk_`, `gka_`, `gcs_`), and
 * JWTs. One rule for everything Gatehouse records about a request (the request log, trace spans) or
 * quotes of it in an answer (the admin and portal APIs' 404s), so a secret one of them hides is never
 * left in another.
 */
const SECRET_SHAPE = /g(?:k|ka|cs)_[A-Za-z0-9_]+|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?/g;
const MAY_HOLD_SECRET = /g(?:k|ka|cs)_|eyJ/;
/** A character of SECRET_SHAPE's alphabet. */
const SECRET_CHARACTER = /[A-Za-z0-9_.-]/;

/** What a secret-shaped part becomes: fixed text, or text made from the part (a key's non-secret start). */
export type Replacement = string | ((secret: string) => string);

const replaced = (text: string, replacement: Replacement): string =>
  typeof replacement === 'string' ? text.replace(SECRET_SHAPE, replacement) : text.replace(SECRET_SHAPE, replacement);

/** Text with every secret-shaped part replaced by `replacement`; the common case (nothing like one) costs one test. */
export function withoutSecrets(text: string, replacement: Replacement): string {
  return MAY_HOLD_SECRET.test(text) ? replaced(text, replacement) : text;
}

/**
 * A path without secrets. A canonical path has unreserved characters decoded already; a path
 * refused as not canonical (and any path the control plane records) is as sent, so one that hides a
 * secret behind percent-encoding (`gk%5Flive_...`) is kept decoded, with the secret replaced.
 */
export function pathWithoutSecrets(path: string, replacement: Replacement): string {
  if (path.includes('%')) {
    // Only the escapes of characters a secret is made of are decoded: enough to see one, and no
    // escape of a control character (`%00`, `%1b`) becomes one in a record, where a NUL made
    // PostgreSQL refuse the whole batch and an ESC reaches the terminal of whoever reads it.
    const decoded = path.replace(/%([2-7][0-9A-Fa-f])/g, (escape, hex: string) => {
      const c = String.fromCharCode(parseInt(hex, 16));
      return SECRET_CHARACTER.test(c) ? c : escape;
    });
    if (decoded !== path && MAY_HOLD_SECRET.test(decoded)) return replaced(decoded, replacement);
  }
  return withoutSecrets(path, replacement);
}
