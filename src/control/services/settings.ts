import type { KeySettings, RateLimitRule } from '../../domain/entities.ts';
import type { SettingsView } from '../admin/responses.ts';
import { ControlError, type ControlContext } from '../context.ts';

type RateLimitInput = { name: string; limit: number; windowSeconds: number };
export type SettingsInput = Omit<KeySettings, 'rateLimits'> & { rateLimits: RateLimitInput[] | null };

const toRule = (r: RateLimitInput): RateLimitRule => ({ name: r.name, limit: r.limit, windowMs: Math.round(r.windowSeconds * 1000) });

/** Field-wise: a field absent from the patch keeps its value; null clears it (inherit from the policy). */
export function mergeSettings(existing: KeySettings, patch: Partial<SettingsInput>): KeySettings {
  return {
    access: patch.access === undefined ? existing.access : patch.access,
    rateLimits: patch.rateLimits === undefined ? existing.rateLimits : (patch.rateLimits?.map(toRule) ?? null),
    quota: patch.quota === undefined ? existing.quota : patch.quota,
    ipAllowlist: patch.ipAllowlist === undefined ? existing.ipAllowlist : patch.ipAllowlist,
    scopes: patch.scopes === undefined ? existing.scopes : patch.scopes,
    rotation: patch.rotation === undefined ? (existing.rotation ?? null) : patch.rotation,
  };
}

export const EMPTY_SETTINGS: KeySettings = { access: null, rateLimits: null, quota: null, ipAllowlist: null, scopes: null, rotation: null };

export function settingsView(settings: KeySettings): SettingsView {
  return {
    access: settings.access,
    rateLimits: settings.rateLimits?.map((r) => ({ name: r.name, limit: r.limit, windowSeconds: r.windowMs / 1000 })) ?? null,
    quota: settings.quota,
    ipAllowlist: settings.ipAllowlist,
    scopes: settings.scopes,
    rotation: settings.rotation ?? null,
  };
}

/** Every API named by an access rule must exist. */
export async function validateSettings(ctx: ControlContext, settings: KeySettings): Promise<void> {
  const missing: Record<string, string> = {};
  for (const [i, rule] of (settings.access ?? []).entries()) {
    if (!(await ctx.store.apis.get(rule.apiId))) missing[`access.${i}.apiId`] = `no API with id ${rule.apiId}`;
  }
  if (Object.keys(missing).length > 0) throw new ControlError('VALIDATION_FAILED', 'an access rule names an unknown API', missing);
}
