import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAuthorization } from './authorization-header.ts';

describe('parseAuthorization (RFC 7235 §2.1, RFC 6750 §2.1, RFC 9449 §7.1)', () => {
  test('the Bearer scheme is recognised in any case', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      assert.deepEqual(parseAuthorization(`${scheme} gk_live_abc`), { scheme: 'bearer', token: 'gk_live_abc' }, scheme);
    }
  });

  test('the DPoP scheme is recognised in any case', () => {
    for (const scheme of ['DPoP', 'dpop', 'DPOP', 'dPoP']) {
      assert.deepEqual(parseAuthorization(`${scheme} eyJ.a.b`), { scheme: 'dpop', token: 'eyJ.a.b' }, scheme);
    }
  });

  test('spaces between the scheme and the token, and after it, are not part of the token', () => {
    assert.deepEqual(parseAuthorization('Bearer    tok   '), { scheme: 'bearer', token: 'tok' });
    assert.deepEqual(parseAuthorization('DPoP  tok '), { scheme: 'dpop', token: 'tok' });
  });

  test('the token itself is not judged here: the verifiers do, and count a bad one as a failed check', () => {
    assert.deepEqual(parseAuthorization('Bearer not a key'), { scheme: 'bearer', token: 'not a key' });
  });

  test('junk is no credential: missing, empty, scheme without a token, other schemes, no space after the scheme', () => {
    const junk = [
      undefined,
      '',
      ' ',
      'Bearer',
      'Bearer ',
      'Bearer    ',
      'bearer\t',
      'DPoP',
      'DPoP  ',
      'Bearerx',
      'BearerToken abc',
      'DPoPx abc',
      'Basic dXNlcjpwYXNz',
      'Token abc',
      'Digest username="x"',
      ' Bearer abc',
      'Bearer\tabc',
      'Bear abc',
      'gk_live_abc',
      'Bearer:abc',
    ];
    for (const header of junk) assert.equal(parseAuthorization(header), null, JSON.stringify(header));
  });
});
