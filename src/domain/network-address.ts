import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { compileIpAllowlist, expandIpv6 } from './ip-allowlist.ts';

/**
 * Which addresses a webhook may not be sent to: a server-side request must not reach this machine,
 * its private network or the cloud's metadata service (OWASP SSRF Prevention Cheat Sheet). The ranges
 * are IANA's special-purpose registries (RFC 6890) that are not globally reachable.
 */
const FORBIDDEN: readonly [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'], // RFC 1122 §3.2.1.3 "this network"
  ['10.0.0.0', 8, 'ipv4', 'private'], // RFC 1918
  ['100.64.0.0', 10, 'ipv4', 'shared (CGNAT)'], // RFC 6598
  ['127.0.0.0', 8, 'ipv4', 'loopback'], // RFC 1122
  ['169.254.0.0', 16, 'ipv4', 'link-local'], // RFC 3927 (cloud metadata lives here)
  ['172.16.0.0', 12, 'ipv4', 'private'], // RFC 1918
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'], // RFC 6890
  ['192.168.0.0', 16, 'ipv4', 'private'], // RFC 1918
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'], // RFC 2544
  ['224.0.0.0', 4, 'ipv4', 'multicast'], // RFC 5771
  ['240.0.0.0', 4, 'ipv4', 'reserved'], // RFC 1112, with the broadcast address
  ['::', 128, 'ipv6', 'unspecified'], // RFC 4291 §2.5.2
  ['::1', 128, 'ipv6', 'loopback'], // RFC 4291 §2.5.3
  ['fc00::', 7, 'ipv6', 'unique local (private)'], // RFC 4193
  ['fe80::', 10, 'ipv6', 'link-local'], // RFC 4291 §2.5.6
  ['fec0::', 10, 'ipv6', 'site-local'], // RFC 3879 (deprecated, still routed by some)
  ['ff00::', 8, 'ipv6', 'multicast'], // RFC 4291 §2.7
];

const LISTS = FORBIDDEN.map(([address, prefix, family, reason]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { list, family, reason };
});

/**
 * The IPv4 address an IPv6 address carries, when it is one of the forms that reach an IPv4 host:
 * IPv4-mapped `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2), IPv4-compatible `::a.b.c.d` (deprecated, §2.5.5.1),
 * NAT64 `64:ff9b::a.b.c.d` (RFC 6052) and 6to4 `2002:AABB:CCDD::` (RFC 3056). Null otherwise.
 */
export function embeddedIpv4(ip: string): string | null {
  if (!isIPv6(ip)) return null;
  const h = expandIpv6(ip).map((x) => parseInt(x, 16));
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && h[5] === 0xffff) return v4(h[6]!, h[7]!);
  if (zeros(0, 6) && (h[6]! !== 0 || h[7]! > 1)) return v4(h[6]!, h[7]!);
  if (h[0] === 0x64 && h[1] === 0xff9b && zeros(2, 6)) return v4(h[6]!, h[7]!);
  if (h[0] === 0x2002) return v4(h[1]!, h[2]!);
  return null;
}

/** Why the address may not be a webhook's destination (e.g. "loopback"), or null when it may. */
export function forbiddenAddress(ip: string): string | null {
  const plain = ip.split('%')[0]!;
  const family = isIPv4(plain) ? 'ipv4' : isIPv6(plain) ? 'ipv6' : null;
  if (!family) return 'not an IP address';
  const inner = family === 'ipv6' ? embeddedIpv4(plain) : null;
  if (inner !== null) {
    const reason = forbiddenAddress(inner);
    return reason && `${reason} (IPv4 ${inner} inside IPv6)`;
  }
  return LISTS.find((l) => l.family === family && l.list.check(plain, family))?.reason ?? null;
}

export interface DestinationPolicy {
  /** Every address is allowed (development and tests only). */
  allowPrivateNetworks: boolean;
  /** CIDRs allowed although forbidden above (e.g. a receiver on 10.1.2.3/32). */
  allowedNetworks: readonly string[];
}

/** The check for one configuration: null when the address may be connected to, else why not. */
export function destinationCheck(policy: DestinationPolicy): (ip: string) => string | null {
  const allowed = compileIpAllowlist(policy.allowedNetworks);
  return (ip) => {
    if (policy.allowPrivateNetworks) return null;
    const reason = forbiddenAddress(ip);
    if (reason === null) return null;
    const inner = embeddedIpv4(ip);
    return allowed.allows(ip) || (inner !== null && allowed.allows(inner)) ? null : reason;
  };
}
