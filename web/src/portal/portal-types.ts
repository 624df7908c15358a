// The portal API's shapes for OAuth clients and webhooks of a developer's apps (/portal/v1), the
// catalogue, and what the operator allows there (GET /portal/v1/settings, read once per visit).
import { api, type Page } from '../api.ts';
import type { CatalogueApi, Key, Webhook } from '../types.ts';

export const catalogueQuery = { queryKey: ['catalogue'], queryFn: () => api<Page<CatalogueApi>>('GET', '/portal/v1/apis') };

/** A key of my app, with whether the portal may rotate it now (the rule the rotation applies) and why not. */
export interface PortalKey extends Key {
  rotation: { allowed: true } | { allowed: false; code: 'CONFLICT' | 'ROTATION_IN_PROGRESS'; reason: string; keyId: string | null; until: string | null };
}

export interface PortalSettings {
  maxAppsPerDeveloper: number;
  maxKeysPerApp: number;
  maxClientsPerApp: number;
  clientGrantTypes: string[];
  clientScopes: string[];
  webhooksEnabled: boolean;
  maxWebhooksPerApp: number;
  webhookEvents: string[];
}

export const settingsQuery = {
  queryKey: ['portal-settings'],
  queryFn: () => api<PortalSettings>('GET', '/portal/v1/settings'),
  staleTime: Infinity,
};

export interface PortalClient {
  id: string;
  name: string;
  type: 'confidential' | 'public';
  grantTypes: string[];
  redirectUris: string[];
  scopes: string[];
  apiIds: string[];
  createdAt: string;
}

/** A confidential client's secret is here once, when it is registered or rotated. */
export interface PortalClientWithSecret extends PortalClient {
  secret?: string;
}

export interface PortalWebhook extends Webhook {
  appId: string | null;
  /** Newest first; one rotated out signs beside the new one until `expiresAt`. */
  secrets: { id: string; createdAt: string; expiresAt: string | null }[];
}

export interface PortalWebhookWithSecret extends PortalWebhook {
  secret: string;
}

export interface WebhookTest {
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}
