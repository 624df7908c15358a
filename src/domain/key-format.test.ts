import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { BASE62, encodeFixed } from './base62.ts';
import { CHECKSUM_LENGTH, RANDOM_LENGTH, generateKey, isKeyOffByOneCharacter, isMistypedKey, parseKey } from './key-format.ts';

function replaceAt(secret: string, index: number, char: string): string {
  return secret.slice(0, index) + char + secret.slice(index + 1);
}

describe('generateKey', () => {
  test('api keys look like gk_<env>_ followed by 30 base62 characters', () => {
    for (const env of ['live', 'test'] as const) {
      const { secret } = generateKey('api', env);
      assert.match(secret, new RegExp(`^gk_${env}_[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`));
    }
  });

  test('admin keys look like gka_live_ followed by 30 base62 characters', () => {
    const { secret } = generateKey('admin', 'live');
    assert.match(secret, /^gka_live_[0-9A-Za-z]{30}$/);
    assert.equal(secret.length, 'gka_live_'.length + 30);
  });

  test('start is prefix, environment and four characters, never the whole secret', () => {
    const api = generateKey('api', 'live');
    assert.equal(api.start, api.secret.slice(0, 'gk_live_'.length + 4));
    assert.match(api.start, /^gk_live_[0-9A-Za-z]{4}$/);
    const admin = generateKey('admin', 'test');
    assert.equal(admin.start, admin.secret.slice(0, 'gka_test_'.length + 4));
    assert.ok(api.start.length < api.secret.length);
    assert.ok(admin.start.length < admin.secret.length);
  });

  test('many generated keys are distinct', () => {
    const secrets = new Set<string>();
    for (let i = 0; i < 5000; i++) secrets.add(generateKey('api', 'live').secret);
    assert.equal(secrets.size, 5000);
  });
});

describe('parseKey', () => {
  test('a freshly generated key parses with its kind, environment and start', () => {
    const { secret, start } = generateKey('api', 'test');
    assert.deepEqual(parseKey(secret, 'api'), { kind: 'api', environment: 'test', start });
    const admin = generateKey('admin', 'live');
    assert.deepEqual(parseKey(admin.secret, 'admin'), { kind: 'admin', environment: 'live', start: admin.start });
  });

  test('a key with one changed character in the random part or checksum fails its checksum', () => {
    const { secret } = generateKey('api', 'live');
    for (let i = 'gk_live_'.length; i < secret.length; i++) {
      for (const char of BASE62) {
        if (char === secret[i]) continue;
        assert.equal(parseKey(replaceAt(secret, i, char), 'api'), null, `position ${i} changed to ${char}`);
      }
    }
  });

  test('a key of the other kind is rejected', () => {
    assert.equal(parseKey(generateKey('admin', 'live').secret, 'api'), null);
    assert.equal(parseKey(generateKey('api', 'live').secret, 'admin'), null);
  });

  test('a wrong prefix or environment is rejected even at the right length', () => {
    const { secret } = generateKey('api', 'live');
    assert.equal(parseKey('xk' + secret.slice(2), 'api'), null);
    assert.equal(parseKey('gk_prod' + secret.slice(7), 'api'), null);
    assert.equal(parseKey('gk-live' + secret.slice(7), 'api'), null);
    assert.equal(parseKey('gk_live-' + secret.slice(8), 'api'), null);
  });

  test('a non-base62 character in the tail is rejected', () => {
    const { secret } = generateKey('api', 'live');
    for (const bad of ['-', '_', '+', '/', '=', ' ', 'é']) {
      assert.equal(parseKey(replaceAt(secret, 10, bad), 'api'), null, `with ${bad}`);
    }
  });

  test('a non-base62 character is rejected even under a matching checksum', () => {
    for (const bad of ['-', '_', '.', '~']) {
      const body = `gk_live_${'a'.repeat(RANDOM_LENGTH - 1)}${bad}`;
      const forged = body + encodeFixed(crc32(body), CHECKSUM_LENGTH);
      assert.equal(forged.length, generateKey('api', 'live').secret.length);
      assert.equal(parseKey(forged, 'api'), null, `with ${bad}`);
    }
  });

  test('a key that is one character too short or too long is rejected', () => {
    const { secret } = generateKey('api', 'live');
    assert.equal(parseKey(secret.slice(0, -1), 'api'), null);
    assert.equal(parseKey(secret + BASE62[0], 'api'), null);
    assert.equal(parseKey('', 'api'), null);
  });
});

describe('isMistypedKey', () => {
  test('a key with any one character of its random part or checksum changed is one; the key itself, two changes, and another kind are not', () => {
    for (const kind of ['api', 'publishable', 'admin', 'clientSecret'] as const) {
      const { secret } = generateKey(kind, 'live');
      const change = (text: string, at: number, by: number) => text.slice(0, at) + BASE62[(BASE62.indexOf(text[at]!) + by) % 62] + text.slice(at + 1);
      for (let at = secret.length - RANDOM_LENGTH - CHECKSUM_LENGTH; at < secret.length; at++) {
        assert.equal(isMistypedKey(change(secret, at, 1 + (at % 61)), kind), true, `${kind} at ${at}`);
      }
      assert.equal(isMistypedKey(secret, kind), false);
      assert.equal(isMistypedKey(change(change(secret, secret.length - 20, 1), secret.length - 10, 1), kind), false);
      assert.equal(isMistypedKey(change(secret, secret.length - 1, 1), kind === 'api' ? 'admin' : 'api'), false);
    }
  });
});

describe('isKeyOffByOneCharacter', () => {
  test('a key with any one character of its random part or checksum dropped, or one inserted anywhere there, is one', () => {
    for (const kind of ['api', 'publishable', 'admin', 'clientSecret'] as const) {
      const { secret } = generateKey(kind, 'test');
      const randomStart = secret.length - RANDOM_LENGTH - CHECKSUM_LENGTH;
      for (let at = randomStart; at < secret.length; at++) {
        assert.equal(isKeyOffByOneCharacter(secret.slice(0, at) + secret.slice(at + 1), kind), true, `${kind} dropped at ${at}`);
      }
      for (let at = randomStart; at <= secret.length; at++) {
        const extra = BASE62[(at * 7) % 62]!;
        assert.equal(isKeyOffByOneCharacter(secret.slice(0, at) + extra + secret.slice(at), kind), true, `${kind} inserted at ${at}`);
      }
    }
  });

  test('the key itself, a substitution, two slips, another kind and random look-alikes are not', () => {
    const { secret } = generateKey('api', 'live');
    assert.equal(isKeyOffByOneCharacter(secret, 'api'), false);
    assert.equal(isKeyOffByOneCharacter(replaceAt(secret, secret.length - 3, secret[secret.length - 3] === 'a' ? 'b' : 'a'), 'api'), false);
    assert.equal(isKeyOffByOneCharacter(secret.slice(0, 12) + secret.slice(14), 'api'), false);
    const other = secret.endsWith('x') ? 'y' : 'x';
    assert.equal(isKeyOffByOneCharacter(secret.slice(0, -1) + other + other, 'api'), false, 'one changed and one inserted');
    assert.equal(isKeyOffByOneCharacter(secret.slice(0, -1), 'admin'), false);
    // Random look-alikes whose written checksum is a CRC32 (below 2^32), so every change is tried: 29 and 31 characters.
    for (let i = 0; i < 200; i++) {
      const random = generateKey('api', 'live').secret.slice(8, 32);
      for (const lookAlike of [`gk_live_${random.slice(1)}00001Z`, `gk_live_${random}Q00001Z`]) {
        assert.equal(isKeyOffByOneCharacter(lookAlike, 'api'), false, lookAlike);
      }
    }
  });
});
