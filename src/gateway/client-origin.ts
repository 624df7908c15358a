import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { canonicalAddress, compileIpAllowlist, unmapIpv4 } from '../domain/ip-allowlist.ts';

export interface ClientOrigin {
  ip: string;
  scheme: 'http' | 'https';
}

/**
 * Who is calling and over what: the peer address and whether this connection is TLS, unless the peer
 * is a configured trusted proxy. Only then are `X-Forwarded-For` (walked from the right, skipping
 * trusted proxies, so a client cannot prepend a fake address) and `X-Forwarded-Proto` believed, so
 * IP allowlists and the HTTPS check cannot be spoofed by anyone else.
 */
export function createClientOriginResolver(trustedProxies: readonly string[]): (req: IncomingMessage) => ClientOrigin {
  const socketScheme = (req: IncomingMessage): 'http' | 'https' => ('encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http');
  if (trustedProxies.length === 0) return (req) => ({ ip: unmapIpv4(req.socket.remoteAddress ?? ''), scheme: socketScheme(req) });
  const trusted = compileIpAllowlist(trustedProxies);
  return (req) => {
    const peer = unmapIpv4(req.socket.remoteAddress ?? '');
    if (!trusted.allows(peer)) return { ip: peer, scheme: socketScheme(req) };
    let ip = peer;
    const forwarded = headerValues(req.headers['x-forwarded-for']);
    for (let i = forwarded.length - 1; i >= 0; i--) {
      // A proxy may spell an address otherwise than Node's sockets do: one form, as the gateway keys on it.
      const hop = canonicalAddress(forwarded[i]!);
      if (isIP(hop) === 0) break;
      ip = hop;
      if (!trusted.allows(hop)) break;
    }
    const proto = headerValues(req.headers['x-forwarded-proto']).at(-1)?.toLowerCase();
    return { ip, scheme: proto === 'https' ? 'https' : proto === 'http' ? 'http' : socketScheme(req) };
  };
}

function headerValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}
