import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RoutedStage } from '../exchange.ts';

const thumbprints = new WeakMap<Socket, string | null>();

/**
 * The verified client certificate's SHA-256 thumbprint (base64url of its DER, RFC 8705 §3.1
 * x5t#S256), once per connection; null without one, or when it did not chain to a client CA.
 */
export function clientCertificateThumbprint(socket: Socket): string | null {
  let known = thumbprints.get(socket);
  if (known !== undefined) return known;
  const tls = socket as TLSSocket;
  known = null;
  if (tls.encrypted && tls.authorized) {
    const raw = tls.getPeerCertificate?.()?.raw;
    if (raw && raw.length > 0) known = createHash('sha256').update(raw).digest('base64url');
  }
  thumbprints.set(socket, known);
  return known;
}

/** APIs that require mutual TLS refuse callers without a certificate from the configured client CAs. */
export const clientCertificateStage: RoutedStage = (exchange) => {
  if (!exchange.route.api.mtls) return undefined;
  if (clientCertificateThumbprint(exchange.req.socket) !== null) return undefined;
  return { code: 'CLIENT_CERTIFICATE_REQUIRED', detail: 'this API requires a client certificate issued by a trusted client CA (mutual TLS)' };
};
