import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { createPepper } from './key-hash.ts';
import { hashPassword, needsRehash, verifyPassword } from './password-hash.ts';
import { createSecretBox } from './secret-box.ts';
import { currentTotp, hashRecoveryCode, matchRecoveryCode, matchTotp, newRecoveryCodes, newTotpSecret, totpUri } from './totp.ts';

describe('password hashing', () => {
  test('a hash verifies its own password only, and is salted', async () => {
    const hash = await hashPassword('correct horse battery');
    assert.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$/);
    assert.equal(await verifyPassword(hash, 'correct horse battery'), true);
    assert.equal(await verifyPassword(hash, 'correct horse batterY'), false);
    assert.notEqual(await hashPassword('correct horse battery'), hash);
    assert.equal(needsRehash(hash), false);
  });

  test('a malformed stored hash never verifies and asks for a rehash', async () => {
    assert.equal(await verifyPassword('$scrypt$ln=99,r=8,p=1$AA$AA', 'x'), false);
    assert.equal(await verifyPassword('plaintext', 'plaintext'), false);
    assert.equal(needsRehash('$scrypt$ln=12,r=8,p=1$AA$AA'), true);
  });
});

describe('secret box', () => {
  const master = randomBytes(32);

  test('opens what it sealed for the same record and purpose only', () => {
    const box = createSecretBox(master, 'totp-secret');
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'usr_1');
    assert.doesNotMatch(sealed, /JBSWY3DPEHPK3PXP/);
    assert.equal(box.open(sealed, 'usr_1'), 'JBSWY3DPEHPK3PXP');
    assert.throws(() => box.open(sealed, 'usr_2'));
    assert.throws(() => createSecretBox(master, 'signing-key').open(sealed, 'usr_1'));
    assert.throws(() => createSecretBox(randomBytes(32), 'totp-secret').open(sealed, 'usr_1'));
  });

  test('refuses a short master key and a tampered value', () => {
    assert.throws(() => createSecretBox(randomBytes(16), 'totp-secret'), /at least 32 bytes/);
    const box = createSecretBox(master, 'totp-secret');
    const [v, iv, body, tag] = box.seal('hello', 'r').split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0]! ^= 1;
    assert.throws(() => box.open([v, iv, flipped.toString('base64url'), tag].join('.'), 'r'));
  });
});

describe('TOTP (RFC 6238)', () => {
  const secret = newTotpSecret();
  const t = Date.UTC(2026, 10, 29, 12, 0, 10);

  test('accepts the current code and one step of drift either way, once each', () => {
    const step = Math.floor(t / 30_000);
    assert.equal(matchTotp(secret, currentTotp(secret, t), t, 0), step);
    assert.equal(matchTotp(secret, currentTotp(secret, t - 30_000), t, 0), step - 1);
    assert.equal(matchTotp(secret, currentTotp(secret, t + 30_000), t, 0), step + 1);
    assert.equal(matchTotp(secret, currentTotp(secret, t - 90_000), t, 0), null);
    assert.equal(matchTotp(secret, currentTotp(secret, t), t, step), null, 'a used step is refused');
    assert.equal(matchTotp(secret, 'abcdef', t, 0), null);
  });

  test('matches the RFC 6238 appendix B vector for SHA-1 (last six digits)', () => {
    const rfcSecret = Buffer.from('12345678901234567890').toString('hex');
    const base32 = Buffer.from(rfcSecret, 'hex');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    let bits = '';
    for (const byte of base32) bits += byte.toString(2).padStart(8, '0');
    const encoded = bits
      .match(/.{1,5}/g)!
      .map((b) => alphabet[parseInt(b.padEnd(5, '0'), 2)])
      .join('');
    assert.equal(currentTotp(encoded, 59_000), '287082');
    assert.equal(currentTotp(encoded, 1_111_111_109_000), '081804');
  });

  test('the otpauth URI names the issuer and account', () => {
    const uri = totpUri(secret, 'Gatehouse', 'ada@example.com');
    assert.match(uri, /^otpauth:\/\/totp\/Gatehouse:ada%40example\.com\?/);
    assert.match(uri, new RegExp(`secret=${secret}`));
  });

  test('recovery codes are distinct, match their own hash once normalised, and nothing else', () => {
    const pepper = createPepper(randomBytes(32));
    const codes = newRecoveryCodes();
    assert.equal(new Set(codes).size, 10);
    const hashes = codes.map((c) => hashRecoveryCode(c, pepper));
    assert.equal(matchRecoveryCode(codes[3]!.toUpperCase().replace('-', ' '), hashes, pepper), 3);
    assert.equal(matchRecoveryCode('aaaaa-aaaaa', hashes, pepper), -1);
    assert.equal(matchRecoveryCode(codes[3]!, hashes, createPepper(randomBytes(32))), -1);
  });
});
