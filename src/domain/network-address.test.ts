import assert from 'node:assert/strict';
import { test } from 'node:test';
import { destinationCheck, embeddedIpv4, forbiddenAddress } from './network-address.ts';

test('addresses webhooks may not reach, each with its reason; public ones pass', () => {
  const cases: [string, string | null][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['fd12:3456::1', 'unique local (private)'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['224.0.0.251', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
    ['::ffff:a9fe:a9fe', 'link-local (IPv4 169.254.169.254 inside IPv6)'],
    ['64:ff9b::a00:1', 'private (IPv4 10.0.0.1 inside IPv6)'],
    ['2002:c0a8:0101::1', 'private (IPv4 192.168.1.1 inside IPv6)'],
    ['::10.0.0.1', 'private (IPv4 10.0.0.1 inside IPv6)'],
    ['93.184.215.14', null],
    ['172.32.0.1', null],
    ['2606:2800:21f:cb07:6820:80da:af6b:8b2c', null],
    ['::ffff:93.184.215.14', null],
    ['not-an-ip', 'not an IP address'],
  ];
  for (const [ip, reason] of cases) assert.equal(forbiddenAddress(ip), reason, ip);
  assert.equal(embeddedIpv4('2001:db8::1'), null);
});

test('the configuration can allow every address, or some networks', () => {
  assert.equal(destinationCheck({ allowPrivateNetworks: true, allowedNetworks: [] })('127.0.0.1'), null);
  const some = destinationCheck({ allowPrivateNetworks: false, allowedNetworks: ['10.1.0.0/16', '127.0.0.1/32'] });
  assert.equal(some('10.1.2.3'), null);
  assert.equal(some('::ffff:127.0.0.1'), null, 'the mapped form of an allowed address too');
  assert.equal(some('10.2.0.1'), 'private');
  assert.equal(some('127.0.0.2'), 'loopback');
});
