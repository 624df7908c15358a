import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { createClientOriginResolver } from './client-origin.ts';

const req = (peer: string, headers: Record<string, string> = {}, encrypted = false) =>
  ({ socket: { remoteAddress: peer, encrypted }, headers }) as unknown as IncomingMessage;

test('without trusted proxies, forwarded headers are ignored', () => {
  const resolve = createClientOriginResolver([]);
  assert.deepEqual(resolve(req('203.0.113.9', { 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'https' })), { ip: '203.0.113.9', scheme: 'http' });
  assert.deepEqual(resolve(req('::ffff:203.0.113.9', {}, true)), { ip: '203.0.113.9', scheme: 'https' });
});

test('a trusted proxy is believed, from the right, up to the first untrusted hop', () => {
  const resolve = createClientOriginResolver(['10.0.0.0/8']);
  assert.deepEqual(resolve(req('10.0.0.2', { 'x-forwarded-for': '198.51.100.7, 10.0.0.3', 'x-forwarded-proto': 'https' })), {
    ip: '198.51.100.7',
    scheme: 'https',
  });
  // The client prepended a fake address: the rightmost untrusted hop is the real client.
  assert.equal(resolve(req('10.0.0.2', { 'x-forwarded-for': '1.2.3.4, 198.51.100.7' })).ip, '198.51.100.7');
  assert.equal(resolve(req('10.0.0.2', { 'x-forwarded-for': 'garbage, 198.51.100.7' })).ip, '198.51.100.7');
  assert.equal(resolve(req('10.0.0.2', {})).ip, '10.0.0.2');
});

test('an untrusted peer cannot spoof its address or the scheme', () => {
  const resolve = createClientOriginResolver(['10.0.0.0/8']);
  assert.deepEqual(resolve(req('198.51.100.7', { 'x-forwarded-for': '10.0.0.5', 'x-forwarded-proto': 'https' })), { ip: '198.51.100.7', scheme: 'http' });
});

test('an address a trusted proxy spells otherwise (upper case, uncompressed, IPv4-mapped) is taken in the one form the gateway keys on', () => {
  const resolve = createClientOriginResolver(['10.0.0.0/8']);
  const client = (forwarded: string) => resolve(req('10.0.0.2', { 'x-forwarded-for': forwarded })).ip;
  assert.equal(client('::FFFF:198.51.100.7'), '198.51.100.7');
  assert.equal(client('0:0:0:0:0:ffff:198.51.100.7'), '198.51.100.7');
  assert.equal(client('::ffff:c633:6407'), '198.51.100.7');
  assert.equal(client('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(client('198.51.100.7'), '198.51.100.7');
  // A trusted proxy in a mapped spelling is still skipped.
  assert.equal(client('198.51.100.7, ::FFFF:10.0.0.3'), '198.51.100.7');
});
