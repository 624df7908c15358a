import { webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

export interface DevCertificate {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** True when this call created them (the first demo start). */
  created: boolean;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/**
 * Demo mode's HTTPS: a local development CA and a certificate for localhost, 127.0.0.1 and ::1 signed
 * by it, made once in `<dataDir>/tls/`. The private keys are readable only by this user; only the CA
 * certificate is meant to be trusted, by the developer, on this machine.
 */
export async function ensureDevCertificate(dataDir: string): Promise<DevCertificate> {
  const dir = join(dataDir, 'tls');
  const files = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
  if (Object.values(files).every((f) => existsSync(f))) return { ...files, created: false };
  x509.cryptoProvider.set(webcrypto as never);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = Date.now();
  const caKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Gatehouse development CA (${hostname()}), O=Gatehouse`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    signingAlgorithm: EC,
    keys: caKeys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey as never),
    ],
  });
  const leafKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: ca.subject,
    notBefore: new Date(now - DAY),
    // Browsers refuse server certificates valid for more than 398 days.
    notAfter: new Date(now + 397 * DAY),
    signingAlgorithm: EC,
    publicKey: leafKeys.publicKey as never,
    signingKey: caKeys.privateKey as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey as never),
    ],
  });
  const pkcs8 = async (key: webcrypto.CryptoKey) => pem('PRIVATE KEY', Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key)));
  for (const [file, key] of [
    [join(dir, 'ca-key.pem'), caKeys.privateKey],
    [files.keyFile, leafKeys.privateKey],
  ] as const) {
    writeFileSync(file, await pkcs8(key), { mode: 0o600 });
    // The mode above applies only to a new file; one left by an interrupted run keeps its own.
    chmodSync(file, 0o600);
  }
  writeFileSync(files.caFile, ca.toString('pem'));
  writeFileSync(files.certFile, `${leaf.toString('pem')}\n${ca.toString('pem')}\n`);
  return { ...files, created: true };
}

function serial(): string {
  // Positive, 16 bytes of randomness (CA/B Forum asks for at least 64 bits).
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END ${label}-----\n`;
}

export function readPem(file: string): string {
  return readFileSync(file, 'utf8');
}
