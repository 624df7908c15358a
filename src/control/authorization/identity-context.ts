import type { Config } from '../../config/load.ts';
import { createSecretBox } from '../../domain/secret-box.ts';
import type { Store } from '../../store/port.ts';
import type { IdentityContext } from '../context.ts';
import { createOidcRecords } from './oidc-records.ts';

/** How long any token a signing key signed can stay valid: the longest access token (24 h), plus skew. */
export const MAX_TOKEN_LIFETIME_MS = 86_400_000 + 300_000;

/**
 * The secrets and settings the identity services share, or null without a master key (no authorization
 * server). Apart from start-authorization.ts so that wiring the control context does not load
 * oidc-provider: the gateway starts serving before the authorization server is loaded (issue 14).
 */
export function identityContext(config: Readonly<Config>, store: Store): IdentityContext | null {
  if (!config.masterKey) return null;
  const a = config.authorization;
  return {
    signingKeyBox: createSecretBox(config.masterKey, 'signing-key'),
    totpBox: createSecretBox(config.masterKey, 'totp-secret'),
    oidcRecords: createOidcRecords(store.oidc, config.masterKey),
    mfaRequiredRoles: a.mfaRequiredRoles,
    mfaRequiredConsoleRoles: a.mfaRequiredConsoleRoles,
    signing: { alg: a.signingAlg, publishLeadMs: a.signingKeyPublishLeadSeconds * 1000, rotateEveryMs: a.signingKeyRotationDays * 86_400_000 },
    maxTokenLifetimeMs: MAX_TOKEN_LIFETIME_MS,
  };
}
