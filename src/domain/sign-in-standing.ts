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
