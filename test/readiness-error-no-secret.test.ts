import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './support/harness.ts';

const KEY = 'gk_live_Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7cF0';
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl';

/**
 * /readyz on the control listener answers anyone who can reach it, without credentials, and shows each
 * component's last error text. A library's error often quotes its input (a URL with `?api_key=`, a header
 * with a JWT): that text went out as it was, and one cut to its 300 characters could leave a key's first
 * characters, too few to be told as a key. The text is now passed through the secret-shape rule
 * (domain/secret-redaction.ts) where it is made, before it is cut.
 */
describe('/readyz error texts', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h?.close());

  test('a component failing with a key or a JWT in its message is shown in /readyz without them', async () => {
    h.gh.health.register('upstream-sync', false);
    h.gh.health.failed('upstream-sync', new Error(`GET https://example.com/v1?api_key=${KEY} failed: 401 for Bearer ${JWT}`));
    // One where the cut at 300 characters falls inside the key.
    h.gh.health.register('long-failure', false);
    h.gh.health.failed('long-failure', new Error(`${'x'.repeat(280)} key=${KEY}`));
    const text = await (await fetch(`${h.gh.controlUrl}/readyz`)).text();
    const { components } = JSON.parse(text) as { components: Record<string, { lastError: string }> };
    assert.match(components['upstream-sync']!.lastError, /^GET https:\/\/example\.com\/v1\?api_key=\[Redacted\] failed: 401 for Bearer \[Redacted\]$/);
    assert.ok(!components['long-failure']!.lastError.includes('Ab3dE6'), components['long-failure']!.lastError);
    assert.ok(!text.includes(KEY.slice(8, 14)), 'no part of the key');
    assert.ok(!text.includes('eyJhbGciOiJFUzI1NiJ9'), 'nor the JWT');
  });
});
