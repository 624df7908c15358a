import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.ts';
import { createOidcRecords } from './oidc-records.ts';

const MASTER = Buffer.from('master-key-for-oidc-records-0123456789abcdef');
const NOW = Date.UTC(2026, 0, 1);

async function setup() {
  const store = openSqliteStore(':memory:');
  await store.migrate();
  return { store, records: createOidcRecords(store.oidc, MASTER) };
}

test('the store holds no id, uid, user code, jti or copied session id in the clear; find restores jti and consumed', async () => {
  const { store, records } = await setup();
  const session = { jti: 'session-secret-id', kind: 'Session', uid: 'session-uid-1', accountId: 'usr_1', loginTs: 1 };
  await records.upsert('Session', 'session-secret-id', session, null);
  await records.upsert(
    'Interaction',
    'interaction-id-1',
    { jti: 'interaction-id-1', kind: 'Interaction', session: { uid: 'session-uid-1', cookie: 'session-secret-id', accountId: 'usr_1' } },
    null,
  );
  await records.upsert('DeviceCode', 'device-code-1', { jti: 'device-code-1', kind: 'DeviceCode', userCode: 'BCDFGHJK', grantId: 'grant-1' }, null);
  await records.upsert('RefreshToken', 'refresh-1', { jti: 'refresh-1', kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1' }, null);
  await records.consume('RefreshToken', 'refresh-1', NOW);

  const raw = JSON.stringify([
    ...(await store.oidc.listByAccount('Session', 'usr_1', NOW)),
    await store.oidc.listByGrant('DeviceCode', 'grant-1', NOW),
    await store.oidc.listByGrant('RefreshToken', 'grant-1', NOW),
  ]);
  for (const secret of ['session-secret-id', 'session-uid-1', 'device-code-1', 'BCDFGHJK', 'refresh-1', 'loginTs']) assert.ok(!raw.includes(secret), secret);
  assert.equal(await store.oidc.find('Session', 'session-secret-id', NOW), null, 'not stored under the secret itself');

  assert.deepEqual(await records.find('Session', 'session-secret-id', NOW), session);
  assert.equal((await records.find('RefreshToken', 'refresh-1', NOW))?.consumed, Math.floor(NOW / 1000));
  assert.deepEqual((await records.find('Interaction', 'interaction-id-1', NOW))?.session, { uid: 'session-uid-1', accountId: 'usr_1' });
  assert.equal((await records.findByUid('Session', 'session-uid-1', NOW))?.loginTs, 1);
  assert.equal((await records.findByUid('Session', 'session-uid-1', NOW))?.jti, undefined, 'the session id is not kept');
  assert.equal((await records.findByUserCode('DeviceCode', 'BCDFGHJK', NOW))?.jti, 'device-code-1', 'the device flow goes on by the device code');
});

test('a payload opens only on its own row; under another master key no record is even found', async () => {
  const { store, records } = await setup();
  await records.upsert('RefreshToken', 'refresh-a', { kind: 'RefreshToken', grantId: 'g', scope: 'a' }, null);
  await records.upsert('RefreshToken', 'refresh-b', { kind: 'RefreshToken', grantId: 'g', scope: 'b' }, null);
  const [a, b] = await store.oidc.listByGrant('RefreshToken', 'g', NOW);
  // Someone with write access moves a's sealed payload onto b's row.
  await store.oidc.upsert('RefreshToken', b!.id, a!.payload, null);
  await assert.rejects(records.find('RefreshToken', 'refresh-b', NOW));
  const other = createOidcRecords(store.oidc, Buffer.from('another-master-key-0123456789abcdef-xyz'));
  assert.equal(await other.find('RefreshToken', 'refresh-a', NOW), null);
});

test('grants keep their own ids; a listed session is destroyed by the reference the list gave', async () => {
  const { records } = await setup();
  await records.upsert('Grant', 'grant-7', { jti: 'grant-7', kind: 'Grant', accountId: 'usr_7', clientId: 'c' }, null);
  await records.upsert('Session', 'session-7', { jti: 'session-7', kind: 'Session', uid: 'u7', accountId: 'usr_7' }, null);
  const [grant] = await records.listByAccount('Grant', 'usr_7', NOW);
  assert.equal(grant?.ref, 'grant-7');
  assert.equal(grant?.payload.jti, 'grant-7');
  const [session] = await records.listByAccount('Session', 'usr_7', NOW);
  assert.notEqual(session?.ref, 'session-7');
  assert.equal(session?.payload.uid, 'u7');
  await records.destroyStored('Session', session!.ref);
  assert.equal(await records.find('Session', 'session-7', NOW), null);
});

test('a record whose jti is not its id is refused', async () => {
  const { records } = await setup();
  await assert.rejects(records.upsert('Session', 'one', { jti: 'another' }, null), /jti must be its id/);
});
