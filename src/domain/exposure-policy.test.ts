import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_EXPOSURE_POLICY, exposureStep, type ExposurePolicy } from './exposure-policy.ts';

const NOW = Date.UTC(2026, 10, 29, 12);
const active = { environment: 'live' as const, enabled: true, revokedAt: null, expiresAt: null, replacedBy: null };
const step = (key: Partial<Parameters<typeof exposureStep>[0]>, o: Partial<Parameters<typeof exposureStep>[1]> = {}) =>
  exposureStep({ ...active, ...key }, { policy: DEFAULT_EXPOSURE_POLICY, first: true, requested: null, now: NOW, ...o }).action;

describe('exposure policy', () => {
  test('by default a live key is disabled and a test key revoked and replaced, on its first report', () => {
    assert.equal(step({}), 'disable');
    assert.equal(step({ environment: 'test' }), 'revoke-and-replace');
  });

  test('each configured action is taken for its environment', () => {
    for (const action of ['flag', 'disable', 'revoke-and-replace'] as const) {
      const policy: ExposurePolicy = { live: action, test: 'flag' };
      assert.equal(step({}, { policy }), action);
      assert.equal(step({ environment: 'test' }, { policy }), 'flag');
    }
  });

  test('later reports only flag, unless the report asks for an action', () => {
    assert.equal(step({}, { first: false }), 'flag');
    assert.equal(step({}, { first: false, requested: 'revoke-and-replace' }), 'revoke-and-replace');
    assert.equal(step({ environment: 'test' }, { requested: 'flag' }), 'flag', 'a requested action wins over the policy');
  });

  test('publishable keys are flagged, not acted on, unless asked', () => {
    assert.equal(step({ publishable: true }), 'flag');
    assert.equal(step({ publishable: true }, { requested: 'disable' }), 'disable');
  });

  test('a key that no longer works is only flagged; a disabled one is not disabled again; a rotated one is revoked (its successor replaces it)', () => {
    assert.equal(step({ revokedAt: NOW - 1 }), 'flag');
    assert.equal(step({ expiresAt: NOW - 1 }), 'flag');
    assert.equal(step({ replacedBy: 'key_next', expiresAt: NOW - 1 }), 'flag');
    assert.equal(step({ enabled: false }), 'flag');
    assert.equal(step({ enabled: false, environment: 'test' }), 'revoke-and-replace');
    assert.equal(step({ replacedBy: 'key_next', expiresAt: NOW + 60_000, environment: 'test' }), 'revoke');
    assert.equal(step({ replacedBy: 'key_next', expiresAt: NOW + 60_000 }), 'disable');
  });
});
