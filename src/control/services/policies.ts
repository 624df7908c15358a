import type { Policy } from '../../domain/entities.ts';
import type { PolicyView } from '../admin/responses.ts';
import { resourceService } from './resource.ts';
import { EMPTY_SETTINGS, mergeSettings, settingsView, validateSettings, type SettingsInput } from './settings.ts';

type PolicyInput = SettingsInput & { name: string };

export function policyView(policy: Policy): PolicyView {
  return {
    id: policy.id,
    name: policy.name,
    ...settingsView(policy),
    createdAt: new Date(policy.createdAt).toISOString(),
    updatedAt: new Date(policy.updatedAt).toISOString(),
  };
}

export const policiesService = resourceService<Policy, PolicyInput, Partial<PolicyInput>>({
  label: 'policy',
  idKind: 'policy',
  targetType: 'policy',
  repo: (ctx) => ctx.store.policies,
  build: (input) => ({ name: input.name, ...mergeSettings(EMPTY_SETTINGS, input) }),
  merge: (existing, patch) => ({ name: patch.name ?? existing.name, ...mergeSettings(existing, patch) }),
  validate: validateSettings,
  changed: (ctx, policy) => ctx.changes.publish({ type: 'policy.changed', policyId: policy.id }),
  view: policyView,
});
