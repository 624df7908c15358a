import type { Api, OAuthClient } from '../../domain/entities.ts';
import type { ChangeBus } from '../../events/change-bus.ts';
import type { Store } from '../../store/port.ts';

export { OIDC_SCOPES } from '../../domain/client-scopes.ts';

/**
 * Clients and APIs as the authorization server reads them on every request, cached in memory and
 * dropped on change events, so the token endpoint does not query the store for them each time.
 */
export class ClientDirectory {
  readonly #store: Store;
  readonly #clients = new Map<string, Promise<OAuthClient | null>>();
  #apis: Promise<Api[]> | undefined;

  constructor(store: Store, changes: ChangeBus) {
    this.#store = store;
    changes.subscribe((event) => {
      if (event.type === 'client.changed') this.#clients.delete(event.clientId);
      if (event.type === 'api.changed') this.#apis = undefined;
    });
  }

  async client(id: string): Promise<OAuthClient | null> {
    let found = this.#clients.get(id);
    if (!found) {
      found = this.#store.clients.get(id).catch((error: unknown) => {
        this.#clients.delete(id);
        throw error;
      });
      // Unknown ids are not cached: a flood of made-up client ids must not fill memory.
      found.then(
        (c) => c ?? this.#clients.delete(id),
        () => undefined,
      );
      this.#clients.set(id, found);
    }
    return found;
  }

  async apis(): Promise<Api[]> {
    this.#apis ??= this.#store.apis.all();
    return this.#apis;
  }

  async apiByAudience(audience: string): Promise<Api | undefined> {
    return (await this.apis()).find((a) => a.tokens.audience === audience);
  }

  /** oidc-provider client metadata (RFC 7591 names) for an enabled client. */
  async metadata(id: string): Promise<Record<string, unknown> | undefined> {
    const client = await this.client(id);
    if (!client || client.disabled) return undefined;
    return clientMetadata(client);
  }
}

export function clientMetadata(client: OAuthClient): Record<string, unknown> {
  const redirects = client.grantTypes.includes('authorization_code');
  return {
    client_id: client.id,
    client_name: client.name,
    // The keyed hash stands in for the secret; compareClientSecret hashes what the client presents.
    ...(client.type === 'confidential'
      ? { client_secret: client.secretHash, token_endpoint_auth_method: 'client_secret_basic' }
      : { token_endpoint_auth_method: 'none' }),
    grant_types: client.grantTypes,
    response_types: redirects ? ['code'] : [],
    redirect_uris: redirects ? client.redirectUris : [],
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    dpop_bound_access_tokens: client.dpopBound,
    // RFC 8252: a public client with loopback redirects is a native app; oidc-provider then always
    // asks for consent, since anyone can run a copy of such an app under its client_id.
    application_type: client.type === 'public' && client.redirectUris.some((u) => u.startsWith('http:')) ? 'native' : 'web',
  };
}
