/**
 * What a secrets file's or a CA file's mode allows, checked when it is read: at start (config/load.ts)
 * and when the TLS files are read again while running (tls/server-tls.ts). No dependencies, so a
 * gateway worker loads it without the config's parser (docs/deployment.md, "Secrets files").
 */

/** A secrets file whose permissions are looser than owner-only (docs/deployment.md, "Secrets files"); never its content. */
export interface SecretFileWarning {
  /** The setting or variable that names it: secrets.pepperFile, GATEHOUSE_PEPPER_FILE, gateway.tls.keyFile... */
  setting: string;
  file: string;
  /** What its mode allows: "readable by others", "writable by its group"... */
  problem: string;
}

/**
 * Why a secrets file anyone may write is refused (anyone could replace the secret), naming the setting
 * and path; null when it is not. One others may read, or its group write, is noted in `warnings`: not
 * refused, as Docker and Kubernetes mount secrets 0444 or 0644, owned by root.
 */
export function refusedSecretMode(setting: string, file: string, mode: number, warnings: SecretFileWarning[]): string | null {
  if (mode & 0o002) return `${setting}: the secrets file ${file} is writable by anyone (mode ${octal(mode)}), who could replace it: chmod o-w,g-w it`;
  const problems = [
    ...(mode & 0o004 ? ['readable by others'] : []),
    ...(mode & 0o020 ? ['writable by its group'] : []),
    ...(mode & 0o001 ? ['executable by others'] : []),
  ];
  if (problems.length > 0 && !warnings.some((w) => w.file === file && w.setting === setting)) {
    warnings.push({ setting, file, problem: `${problems.join(' and ')} (mode ${octal(mode)})` });
  }
  return null;
}

/**
 * Why a CA file anyone may write is refused (anyone could add a CA of their own: client certificates
 * for mutual TLS, a Redis server, a webhook receiver of their making); null when it is not. Readable
 * by anyone is fine: CAs are public.
 */
export function refusedCaMode(setting: string, file: string, mode: number): string | null {
  if (mode & 0o002) return `${setting}: the CA file ${file} is writable by anyone (mode ${octal(mode)}), who could add a CA of their own: chmod o-w it`;
  return null;
}

const octal = (mode: number): string => (mode & 0o777).toString(8).padStart(4, '0');
