import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { buildConnector } from 'undici';

/** Resolves a host name to every address it has (dns.lookup's `all`); tests pass their own. */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Refused before a connection is made: the destination is not a place webhooks may go. */
export class ForbiddenDestinationError extends Error {
  override readonly name = 'ForbiddenDestinationError';
}

/**
 * The address to connect to for `hostname`: an IP literal as it is, a name resolved. Every address
 * the name has must be allowed (a name with one public and one private address is refused: which
 * one a client picks is not ours to decide), and the connection then goes to the address checked,
 * never to a second lookup's answer, so DNS rebinding cannot slip a private address in between.
 */
export async function resolveDestination(hostname: string, check: (ip: string) => string | null, resolve: Resolve): Promise<string> {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  if (addresses.length === 0) throw new ForbiddenDestinationError(`${host} has no address`);
  for (const { address } of addresses) {
    const reason = check(address);
    if (reason) throw new ForbiddenDestinationError(`${host} resolves to ${address}, a ${reason} address; webhooks may not be sent there`);
  }
  return addresses[0]!.address;
}

/**
 * An undici connector that checks the address it connects to (at connect time, for every new
 * connection), then connects to exactly that address; TLS still verifies the certificate against the
 * URL's host name (SNI and identity check by `servername`).
 */
export function guardedConnector(
  build: typeof buildConnector,
  options: { ca?: string | undefined; timeoutMs: number; check: (ip: string) => string | null; resolve: Resolve },
) {
  const connect = build({ ...(options.ca ? { ca: options.ca } : {}), timeout: options.timeoutMs });
  return (opts: buildConnector.Options, callback: buildConnector.Callback): void => {
    const name = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    resolveDestination(name, options.check, options.resolve).then(
      (address) => connect({ ...opts, hostname: address, ...(isIP(name) ? {} : { servername: name }) }, callback),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}
