import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import pino from 'pino';
import { createLocalChangeBus } from '../src/events/change-bus.ts';
import { Health } from '../src/telemetry/health.ts';
import { ownIssuer } from '../src/verification/issuers.ts';

async function signingKey(id: string, activatesAt: number) {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  const record = {
    id,
    alg: 'ES256',
    publicJwk: { ...(await exportJWK(publicKey)), kid: id, alg: 'ES256', use: 'sig' },
    sealedPrivateJwk: 'sealed',
    activatesAt,
    retiredAt: null as number | null,
    unpublishAt: null as number | null,
    createdAt: activatesAt,
    updatedAt: activatesAt,
  };
  return { record };
}

test('a signing-key reread that failed (store blip) after an immediate rotation is tried again: the compromised key stops verifying once the store is back', async () => {
  const health = new Health(pino({ level: 'silent' }), Date.now);
  const changes = createLocalChangeBus();
  const now = Date.now();
  const compromised = await signingKey('sk_compromised', now - 86_400_000);
  let stored = [compromised.record];
  let storeAway = false;
  const repo = { all: async () => (storeAway ? Promise.reject(new Error('connection terminated unexpectedly')) : stored) };
  const own = ownIssuer('https://auth.example', repo as never, changes, Date.now, health);
  await own.refresh();
  const header = { alg: 'ES256', kid: 'sk_compromised', typ: 'at+jwt' };
  assert.ok(await own.keys(header, { payload: '', signature: '' } as never), 'the key verifies before the rotation');
  // The operator rotates at once (rotate --immediate: the old key is unpublished now); this node's reread fails.
  const replacement = await signingKey('sk_new', now);
  stored = [{ ...compromised.record, retiredAt: now, unpublishAt: now, updatedAt: now }, replacement.record];
  storeAway = true;
  changes.publish({ type: 'signing_keys.changed' });
  await new Promise((r) => setTimeout(r, 20));
  storeAway = false;
  // The store is back: within a few seconds the node reads the keys again, and the unpublished key no longer verifies.
  await new Promise((r) => setTimeout(r, 3000));
  await assert.rejects(
    Promise.resolve(own.keys(header, { payload: '', signature: '' } as never)),
    'a token signed by the unpublished (compromised) key still verifies at this node: the failed reread was never tried again',
  );
  assert.equal(health.report().components['signing-keys']?.ok, true, 'the warning stays although the store is back');
});
