import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capturedLog } from './support/captured-log.ts';
import { HTTPS_GATEWAY, startHarness, TestClock } from './support/harness.ts';

/**
 * A production start (`gatehouse start`) whose configuration leaves gateway.tls out serves the gateway
 * over plain HTTP and, by default (gateway.plaintextCredentials refuse), refuses every request with a
 * credential, flagging each API key in one as exposed: the exposure policy then disables a live key or
 * revokes a test one. It started with nothing in the log but "gatehouse listening", so the first thing
 * an operator learnt was a key of theirs lost. Now the start says so, naming the settings that fix it.
 */
const warned = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('plain HTTP (no gateway.tls)') && l.msg.includes('CREDENTIALS_OVER_HTTP'));

test('a gateway without TLS that refuses credentials over HTTP, behind no trusted proxy, says so at start', async () => {
  const { logger, lines } = capturedLog('warn');
  const h = await startHarness({ GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'refuse' }, new TestClock(), undefined, { logger });
  try {
    assert.equal(warned(lines).length, 1, JSON.stringify(lines.map((l) => l.msg)));
    assert.match(String(warned(lines)[0]!.msg), /Set gateway\.tls, or list the TLS-terminating proxy in gateway\.trustedProxies/);
    // What it warns of: a key over plain HTTP is refused.
    const answer = await fetch(`${h.gh.gatewayUrl}/anything`, { headers: { 'x-api-key': 'gk_test_not_a_real_key_at_all_000000' } });
    assert.equal(answer.status, 403);
    assert.equal(((await answer.json()) as { code: string }).code, 'CREDENTIALS_OVER_HTTP');
  } finally {
    await h.close();
  }
});

for (const [what, env, yaml] of [
  ['with gateway.tls', { GATEHOUSE_TEST_GATEWAY: HTTPS_GATEWAY }, undefined],
  ['behind a trusted TLS-terminating proxy', { GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'refuse' }, 'gateway:\n  trustedProxies: ["10.0.0.0/8"]\n'],
  ['with plaintextCredentials allow (development)', { GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'allow' }, undefined],
] as const) {
  test(`nothing is said ${what}`, async () => {
    const { logger, lines } = capturedLog('warn');
    const h = await startHarness({ ...env }, new TestClock(), yaml, { logger });
    try {
      assert.deepEqual(warned(lines), []);
    } finally {
      await h.close();
    }
  });
}
