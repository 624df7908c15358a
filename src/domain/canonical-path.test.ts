import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalPath, hasNonAscii, isCanonicalPath } from './canonical-path.ts';

const canonical = (raw: string): string => {
  const result = canonicalPath(raw);
  assert.ok(result.ok, `${raw}: ${result.ok ? '' : result.reason}`);
  return result.path;
};
const reasonFor = (raw: string): string => {
  const result = canonicalPath(raw);
  assert.ok(!result.ok, `${raw} should be refused, got ${result.ok ? result.path : ''}`);
  return result.reason;
};

describe('canonicalPath', () => {
  test('a plain path is its own canonical form, returned as it is', () => {
    for (const p of ['/', '/a', '/a/', '/orders/42/items', "/a-b_c.d~e/!$&'()*+,=:@", '/v1.0/..x/x..', '/.well-known/x', '/a/...']) {
      assert.equal(canonical(p), p);
    }
  });

  test('percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2)', () => {
    assert.equal(canonical('/%61dmin/secret'), '/admin/secret');
    assert.equal(canonical('/%61%64%6d%69%6e'), '/admin');
    assert.equal(canonical('/%41%5a%30%39%2d%2e%5f%7e'), '/AZ09-._~');
    assert.equal(canonical('/a%2Eb'), '/a.b');
  });

  test('percent-encoded sub-delims, ":" and "@" are decoded too, since decoding upstreams read them alike', () => {
    assert.equal(canonical('/a%2bb%21%24%26%27%28%29%2a%2c%3d%3a%40'), "/a+b!$&'()*,=:@");
  });

  test('other escapes keep their encoding with upper-case hex (§6.2.2.1); literal unsafe characters are encoded', () => {
    assert.equal(canonical('/a%20b'), '/a%20b');
    assert.equal(canonical('/a%3fb%23c%3c%3e%5b%5d%7b%7d%7c%5e%60%22'), '/a%3Fb%23c%3C%3E%5B%5D%7B%7D%7C%5E%60%22');
    assert.equal(canonical('/a|b[c]{d}^`"<>'), '/a%7Cb%5Bc%5D%7Bd%7D%5E%60%22%3C%3E');
    assert.equal(canonical('/a%7Cb'), canonical('/a|b'));
  });

  test('valid UTF-8 escapes are kept, in upper case', () => {
    assert.equal(canonical('/caf%c3%a9'), '/caf%C3%A9');
    assert.equal(canonical('/%e2%82%ac/%f0%9f%98%80/%ef%bf%bd'), '/%E2%82%AC/%F0%9F%98%80/%EF%BF%BD');
    assert.equal(canonical('/%c2%a0'), '/%C2%A0');
    assert.equal(canonical('/%f4%8f%bf%bf'), '/%F4%8F%BF%BF');
  });

  test('empty segments are merged; a trailing slash is kept', () => {
    assert.equal(canonical('//admin/secret'), '/admin/secret');
    assert.equal(canonical('///a//b///'), '/a/b/');
    assert.equal(canonical('//'), '/');
    assert.equal(canonical('/a//'), '/a/');
  });

  test('dot segments are refused, literal or encoded, anywhere', () => {
    for (const p of [
      '/.',
      '/..',
      '/./a',
      '/../a',
      '/a/.',
      '/a/..',
      '/a/./b',
      '/a/../b',
      '/a/%2e/b',
      '/a/%2e%2e/b',
      '/a/.%2E/b',
      '/a/%2E./b',
      '/a//../b',
      '/a/..//b',
    ]) {
      assert.match(reasonFor(p), /"\." or "\.\."/, p);
    }
  });

  test('encoded "/", "\\" in any form, and ";" path parameters are refused', () => {
    assert.match(reasonFor('/admin%2fsecret'), /%2F/);
    assert.match(reasonFor('/a%2F..%2Fb'), /%2F/);
    assert.match(reasonFor('/a\\b'), /\\/);
    assert.match(reasonFor('/a%5cb'), /\\/);
    assert.match(reasonFor('/admin;x=1/secret'), /;/);
    assert.match(reasonFor('/a/..;/b'), /;/);
    assert.match(reasonFor('/a;'), /;/);
    assert.match(reasonFor('/admin%3bx/secret'), /;/);
  });

  test('double encoding (%25) and malformed escapes are refused', () => {
    assert.match(reasonFor('/%2561dmin'), /double encoding/);
    assert.match(reasonFor('/public/%252e%252e/admin'), /double encoding/);
    for (const p of ['/a%', '/a%2', '/a%zz', '/a%2g', '/%u002e%u002e', '/a%%41']) assert.match(reasonFor(p), /two hex digits/, p);
  });

  test('control characters, literal or encoded (C1 included), spaces and "#" are refused', () => {
    for (const p of ['/a%00', '/a%0a', '/a%0D%0A', '/a%1f', '/a%7f', '/a%c2%80', '/a%c2%9f', '/a\u0000', '/a\n', '/a b', '/a\u007f']) {
      assert.match(reasonFor(p), /control character/, JSON.stringify(p));
    }
    for (const p of ['/a%20b', '/a%23b']) {
      assert.equal(canonical(p), p, 'encoded, a space and "#" are ordinary characters');
    }
    assert.match(reasonFor('/a#b'), /#/);
  });

  test('invalid UTF-8 is refused: overlong forms, lone continuation bytes, surrogates, truncation, beyond U+10FFFF', () => {
    for (const p of [
      '/%c0%ae',
      '/%c0%ae%c0%ae',
      '/%c0%af',
      '/%c1%bf',
      '/%e0%80%ae',
      '/%e0%9f%bf',
      '/%f0%8f%bf%bf',
      '/%80',
      '/%bf',
      '/%ed%a0%80',
      '/%ed%bf%bf',
      '/%c3',
      '/%c3%41',
      '/%e2%82',
      '/%e2%82/x',
      '/%f4%90%80%80',
      '/%f5%80%80%80',
      '/%ff',
      '/%c3%a9%a9',
    ]) {
      assert.match(reasonFor(p), /UTF-8/, p);
    }
  });

  test('literal non-ASCII and anything that is not a path are refused', () => {
    assert.match(reasonFor('/café'), /non-ASCII/);
    assert.match(reasonFor('/caf\u00c3\u00a9'), /non-ASCII/);
    for (const p of ['', '*', 'http://evil.example/admin', 'admin', '?a=1']) assert.match(reasonFor(p), /must be a path/, p);
  });

  test('the canonical form is a fixed point, and equivalent spellings meet in it', () => {
    for (const p of ['/%61dmin//x/', '/a|b', '/caf%c3%a9', '/a%2bb', '/%7euser']) {
      const once = canonical(p);
      assert.equal(canonical(once), once, p);
      assert.ok(isCanonicalPath(once));
    }
    assert.equal(canonical('/~user'), canonical('/%7Euser'));
    assert.equal(canonical('/a+b'), canonical('/a%2B'.concat('b')));
    assert.ok(!isCanonicalPath('/%61'));
    assert.ok(!isCanonicalPath('/a//b'));
    assert.ok(!isCanonicalPath('/a/../b'));
    assert.ok(!isCanonicalPath('/a%3f'));
  });

  test('hasNonAscii finds encoded non-ASCII in a canonical path', () => {
    assert.equal(hasNonAscii('/caf%C3%A9'), true);
    assert.equal(hasNonAscii('/a%20b%7C'), false);
    assert.equal(hasNonAscii('/plain'), false);
  });
});
