import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * IP allowlists as node's BlockList (a tested CIDR matcher for IPv4 and IPv6), built once per key.
 */
export interface IpAllowlist {
  allows(ip: string): boolean;
}

export function parseCidr(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = entry.split('/');
  if (rest.length > 0) return null;
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  if (!family) return null;
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { address, prefix, family };
}

export function compileIpAllowlist(entries: readonly string[]): IpAllowlist {
  const cidrs = entries.map((entry) => parseCidr(entry) ?? notCidr(entry));
  const list = new BlockList();
  for (const { address, prefix, family } of cidrs) list.addSubnet(address, prefix, family);
  // BlockList matches an IPv4 address against an IPv6 subnet through its IPv4-mapped form (RFC 4291
  // §2.5.5.2), so `::/0` would admit every IPv4 client. IPv4 clients are checked against the IPv4
  // entries and the IPv6 ones of /96 or longer: only those can lie inside ::ffff:0:0/96, i.e. be
  // IPv4 addresses written in their mapped form.
  const wide = (cidr: (typeof cidrs)[number]) => cidr.family === 'ipv6' && cidr.prefix < 96;
  const forIpv4 = cidrs.some(wide) ? new BlockList() : list;
  if (forIpv4 !== list) for (const cidr of cidrs) if (!wide(cidr)) forIpv4.addSubnet(cidr.address, cidr.prefix, cidr.family);
  return {
    allows(ip) {
      const plain = unmapIpv4(ip);
      if (isIPv4(plain)) return forIpv4.check(plain, 'ipv4');
      // The mapped form spelled otherwise (::ffff:a00:1, upper case, uncompressed: a verify request's
      // `ip`) is an IPv4 client too, held to the same entries.
      return isIPv6(plain) && (MAPPED.check(plain, 'ipv6') ? forIpv4 : list).check(plain, 'ipv6');
    },
  };
}

/** IPv4-mapped IPv6 addresses, ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

function notCidr(entry: string): never {
  throw new Error(`not a CIDR: ${entry}`);
}

/** Sockets on a dual-stack listener report IPv4 peers as `::ffff:a.b.c.d`. */
export function unmapIpv4(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

/**
 * An address as a proxy may spell it, in the one form the gateway keys on (throttles, key addresses,
 * the request log's filter): IPv6 lower-case and compressed (RFC 5952), an IPv4-mapped one in any
 * spelling (`::FFFF:1.2.3.4`, `0:0:0:0:0:ffff:1.2.3.4`) as the IPv4 address. Node's sockets already
 * give this form; a forwarded header may not.
 */
export function canonicalAddress(ip: string): string {
  if (!isIPv6(ip)) return ip;
  // WHATWG URL serializes an IPv6 host per RFC 5952, an IPv4-mapped one as two hex groups.
  const host = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!mapped) return host;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

const LOOPBACK = compileIpAllowlist(['127.0.0.0/8', '::1/128']);

/** Whether the address is this machine's own (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopback(ip: string): boolean {
  return LOOPBACK.allows(unmapIpv4(ip));
}

/**
 * The unit an address throttle counts: an IPv4 address, or the /64 an IPv6 address is in. One host
 * usually holds a whole IPv6 /64 (SLAAC, privacy addresses), so counting single IPv6 addresses would
 * let it try 2^64 times as often.
 */
export function addressSlot(ip: string): string {
  const plain = unmapIpv4(ip);
  // Every request's address passes here: an IPv4 address (no colon) needs no IPv6 parse.
  if (!plain.includes(':') || !isIPv6(plain)) return plain;
  return `${expandIpv6(plain).slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of a valid IPv6 address (zone dropped, an IPv4 tail converted), without leading zeros. */
export function expandIpv6(ip: string): string[] {
  let text = ip.split('%')[0]!;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const fill = rest === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((h) => parseInt(h, 16).toString(16));
}
