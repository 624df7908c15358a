import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkClaims, type IssuerRules } from './access-token-claims.ts';

const rules: IssuerRules = { issuer: 'https://id.example', audience: 'urn:api:orders', clockSkewSeconds: 30, typ: 'at+jwt' };
const now = 1_800_000_000;
const good = { iss: 'https://id.example', sub: 'usr_1', aud: 'urn:api:orders', exp: now + 600, iat: now - 10, scope: 'a b', roles: ['x'] };
const at = { typ: 'at+jwt' };

test('a well-formed access token passes, with typ in either spelling and aud as a list', () => {
  assert.equal(checkClaims(at, good, rules, now).code, 'VALID');
  assert.equal(checkClaims({ typ: 'application/AT+JWT' }, good, rules, now).code, 'VALID');
  assert.equal(checkClaims(at, { ...good, aud: ['other', 'urn:api:orders'] }, rules, now).code, 'VALID');
  assert.equal(checkClaims({}, good, { ...rules, typ: null }, now).code, 'VALID');
});

test('wrong typ, issuer, subject or audience are refused (RFC 9068 §4)', () => {
  assert.equal(checkClaims({ typ: 'JWT' }, good, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims({}, good, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, { ...good, iss: 'https://evil.example' }, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, { ...good, sub: '' }, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, { ...good, aud: 'urn:api:billing' }, rules, now).code, 'TOKEN_WRONG_AUDIENCE');
  assert.equal(checkClaims(at, { ...good, aud: undefined }, rules, now).code, 'TOKEN_WRONG_AUDIENCE');
});

test('expiry and not-before honour the clock skew, and exp is required', () => {
  assert.equal(checkClaims(at, { ...good, exp: now - 29 }, rules, now).code, 'VALID');
  assert.equal(checkClaims(at, { ...good, exp: now - 30 }, rules, now).code, 'TOKEN_EXPIRED');
  assert.equal(checkClaims(at, { ...good, exp: undefined }, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, { ...good, exp: '9999999999' }, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, { ...good, nbf: now + 29 }, rules, now).code, 'VALID');
  assert.equal(checkClaims(at, { ...good, nbf: now + 31 }, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, { ...good, iat: now + 120 }, rules, now).code, 'TOKEN_INVALID');
});

test('an ID token offered as an access token is refused, as are malformed scope and roles', () => {
  assert.equal(checkClaims(at, { ...good, nonce: 'n' }, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, { ...good, at_hash: 'h' }, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, { ...good, scope: ['a'] }, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, { ...good, roles: 'admin' }, rules, now).code, 'TOKEN_INVALID');
  assert.equal(checkClaims(at, 'not an object', rules, now).code, 'TOKEN_INVALID');
});
