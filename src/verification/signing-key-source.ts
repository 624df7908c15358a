import type { SigningKey } from '../domain/entities.ts';

/** Where the gateway reads Gatehouse's published signing keys: the store's signing-key repository. */
export interface SigningKeyRepo {
  all(): Promise<SigningKey[]>;
}
