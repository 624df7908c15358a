import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usernameSchema } from './identity.ts';

test('a username is an ASCII e-mail address, lower-cased; one outside ASCII is refused, never folded by the store', () => {
  assert.equal(usernameSchema.parse('Kate@Example.COM'), 'kate@example.com');
  for (const name of ['\u212aate@example.com', '\u00c9mile@example.com', 'ada@b\u00fccher.de', 'ada@example.com\u0000']) {
    assert.equal(usernameSchema.safeParse(name).success, false, JSON.stringify(name));
  }
});
