import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASE62 } from './base62.ts';
import { generateKey } from './key-format.ts';
import { classifySecret, findSecrets, placeHoldsSecret, looksBinary, secretFingerprint } from './secret-scan.ts';

/** The same shape with one character of the random part changed: the checksum no longer holds. */
function lookAlike(secret: string): string {
  const i = secret.length - 10;
  const replacement = BASE62[(BASE62.indexOf(secret[i]!) + 1) % 62]!;
  return secret.slice(0, i) + replacement + secret.slice(i + 1);
}

describe('findSecrets', () => {
  test('finds each kind of secret with its line and column, and never reports a bad checksum', () => {
    const api = generateKey('api', 'live').secret;
    const pub = generateKey('publishable', 'test').secret;
    const admin = generateKey('admin', 'live').secret;
    const client = generateKey('clientSecret', 'live').secret;
    const text = [
      `API_KEY=${api}`,
      `  "publishable": "${pub}",`,
      `curl -H "Authorization: Bearer ${admin}" https://x/?q=${lookAlike(api)}`,
      `client_secret: ${client}`,
      `random: gk_live_${'a'.repeat(30)} ${lookAlike(client)}`,
    ].join('\n');
    const found = findSecrets(text);
    assert.deepEqual(
      found.map((f) => [f.kind, f.environment, f.line, f.column]),
      [
        ['api', 'live', 1, 9],
        ['publishable', 'test', 2, 19],
        ['admin', 'live', 3, 32],
        ['clientSecret', 'live', 4, 16],
      ],
    );
    assert.deepEqual(
      found.map((f) => f.secret),
      [api, pub, admin, client],
    );
    assert.equal(found[0]!.start, api.slice(0, 'gk_live_'.length + 4));
    assert.equal(found[1]!.start, pub.slice(0, 'gk_pub_test_'.length + 4));
    assert.match(found[0]!.fingerprint, /^sha256:[0-9a-f]{16}$/);
    assert.equal(found[0]!.fingerprint, secretFingerprint(api));
  });

  test('a key embedded in other text (URL-encoded, glued) is still found', () => {
    const api = generateKey('api', 'test').secret;
    const found = findSecrets(`GET /x?key%3D${api}&a=1\nprefix${api}suffix`);
    assert.deepEqual(
      found.map((f) => [f.line, f.column]),
      [
        [1, 14],
        [2, 7],
      ],
    );
  });

  test('text with no environment marker, or only look-alikes, gives nothing', () => {
    assert.deepEqual(findSecrets('nothing to see here\n'.repeat(100)), []);
    const fakes = Array.from({ length: 50 }, () => lookAlike(generateKey('api', 'live').secret)).join('\n');
    assert.deepEqual(findSecrets(fakes), []);
  });
});

test('classifySecret names the kind of a well-formed secret and refuses look-alikes', () => {
  const admin = generateKey('admin', 'live').secret;
  assert.equal(classifySecret(admin)?.kind, 'admin');
  assert.equal(classifySecret(generateKey('publishable', 'live').secret)?.kind, 'publishable');
  assert.equal(classifySecret(lookAlike(admin)), null);
  assert.equal(classifySecret('ghp_0123456789'), null);
});

test('looksBinary: a NUL byte in the first 8000 bytes, as git decides', () => {
  assert.equal(looksBinary(Buffer.from('plain text\n')), false);
  assert.equal(looksBinary(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00])), true);
  assert.equal(looksBinary(Buffer.concat([Buffer.alloc(8001, 0x41), Buffer.from([0])])), false);
});

// A look-alike whose checksum fails must not hide a real key that starts inside the text it matched:
// a candidate is 30 base62 characters long, and a key begins with base62 characters (`gk`, `gka`, `gcs`).
test('a key right after a look-alike (a cut or edited secret left in place) is still found', () => {
  const { secret } = generateKey('api', 'live');
  const cut = generateKey('api', 'test').secret.slice(0, 8 + 28); // gk_test_ and 28 of its characters
  const found = findSecrets(`API_KEY=${cut}${secret}\n`);
  assert.deepEqual(
    found.map((f) => [f.secret, f.line, f.column]),
    [[secret, 1, 9 + cut.length]],
  );
  const admin = generateKey('admin', 'live').secret;
  assert.deepEqual(
    findSecrets(`gk_live_${'x'.repeat(29)}${admin}`).map((f) => f.kind),
    ['admin'],
  );
});

test('placeHoldsSecret: a key as sent or percent-encoded once or more, or a JWT; places with look-alike names are not', () => {
  const key = generateKey('api', 'live').secret;
  const jwt = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u"}').toString('base64url')}.`;
  for (const text of [key, key.replaceAll('_', '%5F'), key.replaceAll('_', '%255F'), key.replaceAll('_', '%25255F'), `?t=${jwt}`, jwt.replaceAll('.', '%2E')]) {
    assert.equal(placeHoldsSecret(text), true, text);
  }
  for (const text of ['src/gcs_upload.py', 'eyJhbGci.notes.md', 'https://example.com/a%20b', lookAlike(key), `${'%25'.repeat(3)}20`]) {
    assert.equal(placeHoldsSecret(text), false, text);
  }
});
