/** The credential in an `Authorization` field, for the schemes Gatehouse reads. */
export interface AuthorizationCredential {
  /** RFC 6750 §2.1 `Bearer`, or RFC 9449 §7.1 `DPoP` (a token bound to a proof key). */
  scheme: 'bearer' | 'dpop';
  token: string;
}

/**
 * The one reader of `Authorization` for both planes. RFC 7235 §2.1: the scheme is case-insensitive
 * and is separated from the credentials by spaces. The token's own syntax is not judged here: the
 * verifiers do that, so a malformed token counts as a failed check (and against the failure
 * throttle), not as a request without a credential. Anything else is null: another scheme, a scheme
 * without a token, leading spaces, a tab or nothing after the scheme name.
 */
export function parseAuthorization(header: string | undefined): AuthorizationCredential | null {
  if (header === undefined) return null;
  // Both names end at a space; `bearer ` and `dpop ` are 7 and 5 characters with it.
  const scheme = isScheme(header, 'bearer ') ? 'bearer' : isScheme(header, 'dpop ') ? 'dpop' : null;
  if (scheme === null) return null;
  const token = header.slice(scheme === 'bearer' ? 7 : 5).trim();
  return token === '' ? null : { scheme, token };
}

function isScheme(header: string, nameAndSpace: string): boolean {
  return header.length > nameAndSpace.length && header.slice(0, nameAndSpace.length).toLowerCase() === nameAndSpace;
}
