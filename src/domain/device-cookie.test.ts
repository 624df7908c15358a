import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { newDeviceBinding, openDeviceCookie, sealDeviceCookie } from './device-cookie.ts';

const KEY = createSecretKey(randomBytes(32));
const NOW = Date.UTC(2026, 10, 29, 12);
const LIFETIME = 90 * 86_400_000;

describe('device cookies', () => {
  test('a sealed cookie opens to its binding within its lifetime, and not after', () => {
    const binding = newDeviceBinding('usr_1', NOW);
    const value = sealDeviceCookie(KEY, binding);
    assert.deepEqual(openDeviceCookie(KEY, value, NOW + LIFETIME - 1, LIFETIME), binding);
    assert.equal(openDeviceCookie(KEY, value, NOW + LIFETIME, LIFETIME), null);
  });

  test('each binding has its own device id', () => {
    assert.notEqual(newDeviceBinding('usr_1', NOW).deviceId, newDeviceBinding('usr_1', NOW).deviceId);
  });

  test('a cookie signed under another key, edited, or not ours at all is refused', () => {
    const value = sealDeviceCookie(KEY, newDeviceBinding('usr_1', NOW));
    assert.equal(openDeviceCookie(createSecretKey(randomBytes(32)), value, NOW, LIFETIME), null);
    const [payload, mac] = value.split('.') as [string, string];
    const edited = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('usr_1', 'usr_2')).toString('base64url');
    assert.equal(openDeviceCookie(KEY, `${edited}.${mac}`, NOW, LIFETIME), null);
    for (const junk of [undefined, '', 'abc', '.', `${payload}.`, `${payload}.${mac}x`, 'x'.repeat(600)])
      assert.equal(openDeviceCookie(KEY, junk, NOW, LIFETIME), null);
  });

  test('a cookie issued in the future (beyond a minute of clock slack) is refused', () => {
    const value = sealDeviceCookie(KEY, newDeviceBinding('usr_1', NOW + 120_000));
    assert.equal(openDeviceCookie(KEY, value, NOW, LIFETIME), null);
  });
});
