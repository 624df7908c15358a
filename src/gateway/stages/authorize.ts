import type { RoutedStage } from '../exchange.ts';

/** The user's token must hold every scope and role the route asks for (RFC 6750 §3.1 insufficient_scope). */
export const authorizeStage: RoutedStage = (exchange) => {
  const { requirement } = exchange;
  const token = exchange.tokenVerification;
  if (!requirement.needsToken || !token) return undefined;
  const missing = requirement.scopes.filter((s) => !token.scopes.has(s));
  if (missing.length > 0) return { code: 'INSUFFICIENT_SCOPE', detail: `the access token lacks the scope ${missing.join(' ')}`, scope: requirement.scopes };
  const roles = requirement.roles.filter((r) => !token.roles.has(r));
  if (roles.length > 0) return { code: 'ROLE_REQUIRED', detail: `this route needs the role ${roles.join(' ')}` };
  return undefined;
};
