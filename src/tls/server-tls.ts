import { closeSync, fstatSync, openSync, readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server as HttpsServer, ServerOptions } from 'node:https';
import type { Logger } from 'pino';
import { refusedCaMode, refusedSecretMode, type SecretFileWarning } from '../config/file-modes.ts';
import type { HealthReporter } from '../telemetry/health.ts';

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
export function tlsOptions(files: TlsFiles, read: (file: string, kind: keyof TlsFiles) => Buffer = (file) => readFileSync(file)): ServerOptions {
  return {
    cert: read(files.certFile, 'certFile'),
    key: read(files.keyFile, 'keyFile'),
    minVersion: 'TLSv1.2',
    honorCipherOrder: true,
    ...(files.clientCaFile ? { ca: read(files.clientCaFile, 'clientCaFile'), requestCert: true, rejectUnauthorized: false } : {}),
  };
}

/**
 * `tlsOptions` for a listener started while running (a gateway worker started again after a crash,
 * maybe long after start), its files checked as at start, on the very file read
 * (config/file-modes.ts): a key or client CA anyone may write is refused, naming the setting, the path
 * and why, so the listener does not serve with it; a key others may read is added to `warnings`.
 */
export function checkedTlsOptions(files: TlsFiles, settings: TlsReload['settings'], warnings: SecretFileWarning[]): ServerOptions {
  return tlsOptions(files, (file, kind) => readChecked(`${settings}.${kind}`, file, kind, warnings, (refused) => refused));
}

/** How a listener's TLS files are reloaded: the settings that name them (`gateway.tls`), and where it is reported. */
export interface TlsReload {
  settings: 'gateway.tls' | 'control.tls';
  health: HealthReporter;
  log: Logger;
}

/** The health component of a listener's certificate reloads: non-critical, as the files served before serve on. */
export const tlsReloadComponent = (settings: TlsReload['settings']): string => `${settings.replace('.', '-')}-reload`;

/**
 * Reloads the certificate and key when their files change, without a restart: new connections get
 * the new certificate, open ones keep theirs. A half-written pair (the key and cert do not match)
 * keeps the old one and reports the error; the next change tries again. The files are checked as at
 * start (config/file-modes.ts), on the very file read: a key anyone may write, or a client CA anyone may
 * write (anyone could add a CA of their own), is refused and the old files serve on, reported to
 * health naming the setting and path (never the content); a key others may read is a warning.
 */
export function reloadOnChange(server: HttpsServer, files: TlsFiles, how: TlsReload, intervalMs = 2000): () => void {
  const component = tlsReloadComponent(how.settings);
  how.health.register(component, false);
  const reload = () => {
    const warnings: SecretFileWarning[] = [];
    try {
      const refusal = (refused: string) => `not reloaded, the files read before serve on: ${refused}`;
      server.setSecureContext({ ...tlsOptions(files, (file, kind) => readChecked(`${how.settings}.${kind}`, file, kind, warnings, refusal)) });
    } catch (error) {
      how.health.failed(component, error);
      return;
    }
    for (const { setting, file, problem } of warnings) {
      how.log.warn({ setting, file }, `secrets file ${file} (${setting}) is ${problem}: make it readable by Gatehouse's user only (chmod 0400)`);
    }
    how.health.ok(component);
  };
  watchFile(files.certFile, { interval: intervalMs }, reload);
  watchFile(files.keyFile, { interval: intervalMs }, reload);
  return () => {
    unwatchFile(files.certFile, reload);
    unwatchFile(files.keyFile, reload);
  };
}

/** A TLS file's bytes, its mode checked on the file read (not a path looked at again): the key as a secret, the client CA as a CA. */
function readChecked(setting: string, file: string, kind: keyof TlsFiles, warnings: SecretFileWarning[], refusal: (refused: string) => string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const { mode } = fstatSync(fd);
    const refused = kind === 'keyFile' ? refusedSecretMode(setting, file, mode, warnings) : kind === 'clientCaFile' ? refusedCaMode(setting, file, mode) : null;
    if (refused !== null) throw new Error(refusal(refused));
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
