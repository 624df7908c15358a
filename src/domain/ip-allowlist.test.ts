import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressSlot, compileIpAllowlist, parseCidr, unmapIpv4 } from './ip-allowlist.ts';

describe('parseCidr', () => {
  test('parses IPv4 and IPv6 CIDRs', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
  });

  test('a bare address is a single host', () => {
    assert.deepEqual(parseCidr('192.0.2.7'), { address: '192.0.2.7', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
  });

  test('rejects bad CIDRs', () => {
    for (const bad of [
      '',
      'abc',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '10.0.0.0/x',
      '10.0.0.256/8',
      '10.0.0/8',
      '10.0.0.0/1000',
    ]) {
      assert.equal(parseCidr(bad), null, bad);
    }
  });
});

describe('compileIpAllowlist', () => {
  test('admits IPv4 addresses inside a subnet and refuses those outside', () => {
    const list = compileIpAllowlist(['10.1.0.0/16', '192.0.2.7']);
    assert.equal(list.allows('10.1.255.3'), true);
    assert.equal(list.allows('10.2.0.1'), false);
    assert.equal(list.allows('192.0.2.7'), true);
    assert.equal(list.allows('192.0.2.8'), false);
  });

  test('admits IPv6 addresses inside a subnet and refuses those outside', () => {
    const list = compileIpAllowlist(['2001:db8:abcd::/48']);
    assert.equal(list.allows('2001:db8:abcd:1::5'), true);
    assert.equal(list.allows('2001:db8:abce::5'), false);
  });

  test('an IPv4-mapped IPv6 peer is matched as its IPv4 address', () => {
    const list = compileIpAllowlist(['10.0.0.0/8']);
    assert.equal(list.allows('::ffff:10.9.8.7'), true);
    assert.equal(list.allows('::ffff:11.9.8.7'), false);
  });

  test('an IPv6 entry admits no IPv4 client: `::/0` is every IPv6 address, not every address', () => {
    const list = compileIpAllowlist(['::/0']);
    assert.equal(list.allows('2001:db8::1'), true);
    assert.equal(list.allows('203.0.113.9'), false);
    assert.equal(list.allows('::ffff:203.0.113.9'), false, "a dual-stack socket's IPv4 peer");
    assert.equal(compileIpAllowlist(['::/64']).allows('203.0.113.9'), false);
  });

  test('an IPv4 client in any spelling of its mapped form is not admitted by `::/0`, and is by its IPv4 entry', () => {
    // A verify request's `ip` is not a socket's: Python before 3.13 writes ::ffff:a00:1, others upper case or in full.
    const spellings = ['::ffff:a00:1', '::FFFF:10.0.0.1', '0:0:0:0:0:ffff:10.0.0.1', '0000:0000:0000:0000:0000:ffff:0a00:0001'];
    assert.deepEqual(
      spellings.map((ip) => compileIpAllowlist(['::/0']).allows(ip)),
      spellings.map(() => false),
    );
    assert.deepEqual(
      spellings.map((ip) => compileIpAllowlist(['::/0', '10.0.0.0/8']).allows(ip)),
      spellings.map(() => true),
    );
  });

  test('IPv4 addresses written in their IPv4-mapped IPv6 form still admit those IPv4 clients', () => {
    const all = compileIpAllowlist(['::ffff:0:0/96']);
    assert.equal(all.allows('203.0.113.9'), true);
    assert.equal(all.allows('2001:db8::1'), false);
    const tens = compileIpAllowlist(['::ffff:10.0.0.0/104', '2001:db8::/32']);
    assert.deepEqual(
      ['10.9.8.7', '11.9.8.7', '2001:db8::1'].map((ip) => tens.allows(ip)),
      [true, false, true],
    );
  });

  test('text that is not an address is refused', () => {
    const list = compileIpAllowlist(['0.0.0.0/0', '::/0']);
    assert.equal(list.allows('not-an-ip'), false);
    assert.equal(list.allows(''), false);
  });

  test('an empty allowlist admits nobody', () => {
    assert.equal(compileIpAllowlist([]).allows('127.0.0.1'), false);
  });

  test('compiling a bad entry throws', () => {
    assert.throws(() => compileIpAllowlist(['10.0.0.0/8', '10.0.0.0/40']), /not a CIDR/);
  });
});

describe('unmapIpv4', () => {
  test('strips the ::ffff: prefix only from mapped IPv4 addresses', () => {
    assert.equal(unmapIpv4('::ffff:1.2.3.4'), '1.2.3.4');
    assert.equal(unmapIpv4('::ffff:abcd'), '::ffff:abcd');
    assert.equal(unmapIpv4('1.2.3.4'), '1.2.3.4');
  });
});

test('an address throttle counts an IPv4 address as itself and an IPv6 address by its /64', () => {
  assert.equal(addressSlot('192.0.2.7'), '192.0.2.7');
  assert.equal(addressSlot('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(addressSlot('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressSlot('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64', 'leading zeros dropped: one slot per /64');
  assert.equal(addressSlot('::1'), '0:0:0:0::/64');
});
