import type { User } from './entities.ts';

/** Why an account may not sign in now; null: it may. */
export type SignInRefusal = 'disabled' | 'pending_approval' | null;

/**
 * The one rule every place that lets a user in (the sign-in pages, each step of MFA, the account
 * lookup behind refresh and userinfo, the web app's session) asks, so a new state that keeps a user
 * out holds everywhere at once.
 */
export function signInRefusal(user: Pick<User, 'disabled' | 'pendingApproval'>): SignInRefusal {
  if (user.disabled) return 'disabled';
  if (user.pendingApproval === true) return 'pending_approval';
  return null;
}

/**
 * Whether a sign-in passed a second factor, by the authentication methods it recorded (`amr`, RFC 8176
 * §2: `otp` for a TOTP or recovery code, as the sign-in pages record it). oidc-provider keeps a sign-in's
 * `amr` in its session and copies it into each code, device code and refresh token issued from it, and
 * from a refresh token into its successor: so the fact travels with every grant the sign-in made.
 */
export function passedSecondFactor(amr: unknown): boolean {
  return Array.isArray(amr) && amr.includes('otp');
}

/** What a grant made without a second factor is refused with once its user must use one (RFC 6749 §5.2 invalid_grant). */
export const SECOND_FACTOR_NOW_REQUIRED = 'a second factor is now required for this account, and this sign-in did not pass one: sign in again';

/** Why such a grant was revoked, in the audit log. */
export const SECOND_FACTOR_REVOCATION_REASON = 'second factor required since the sign-in';
