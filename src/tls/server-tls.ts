import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server as HttpsServer, ServerOptions } from 'node:https';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CAs whose client certificates are accepted for mutual TLS; absent: no client certificates asked. */
  clientCaFile?: string | undefined;
}

/**
 * TLS settings for a listener: TLS 1.2 at least (1.3 preferred), Node's current cipher list (forward
 * secrecy, AEAD only in TLS 1.3), the certificate chain and key from files. Client certificates are
 * asked for but not required at the handshake: each API decides (per-API mutual TLS).
 */
export function tlsOptions(files: TlsFiles): ServerOptions {
  return {
    ...material(files),
    minVersion: 'TLSv1.2',
    honorCipherOrder: true,
    ...(files.clientCaFile ? { ca: readFileSync(files.clientCaFile), requestCert: true, rejectUnauthorized: false } : {}),
  };
}

function material(files: TlsFiles): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
}

/**
 * Reloads the certificate and key when their files change, without a restart: new connections get
 * the new certificate, open ones keep theirs. A half-written pair (the key and cert do not match)
 * keeps the old one and reports the error; the next change tries again.
 */
export function reloadOnChange(server: HttpsServer, files: TlsFiles, onError: (error: unknown) => void, intervalMs = 2000): () => void {
  const reload = () => {
    try {
      server.setSecureContext({ ...tlsOptions(files) });
    } catch (error) {
      onError(error);
    }
  };
  watchFile(files.certFile, { interval: intervalMs }, reload);
  watchFile(files.keyFile, { interval: intervalMs }, reload);
  return () => {
    unwatchFile(files.certFile, reload);
    unwatchFile(files.keyFile, reload);
  };
}
