/**
 * How a change made through the control plane reaches the data plane's caches: one small event port.
 * In-process now; Redis pub/sub when the gateway runs on several nodes.
 */
export type ChangeEvent =
  | { type: 'key.changed'; keyId: string }
  | { type: 'policy.changed'; policyId: string }
  | { type: 'api.changed'; apiId: string }
  | { type: 'client.changed'; clientId: string }
  | { type: 'signing_keys.changed' }
  /** A grant or one access token (by jti) was revoked: verified-token caches drop it at once. */
  | { type: 'token.revoked'; kind: 'grant' | 'token'; id: string };

export interface ChangeBus {
  publish(event: ChangeEvent): void;
  subscribe(listener: (event: ChangeEvent) => void): () => void;
}

export function createLocalChangeBus(): ChangeBus {
  const listeners = new Set<(event: ChangeEvent) => void>();
  return {
    publish(event) {
      for (const listener of listeners) listener(event);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
