import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * A 400 VALIDATION_FAILED names each field and what was wrong, and zod's message for a key it does
 * not know quotes the key: a secret sent as a parameter name (`GET /keys?gk_live_...`, a script that
 * appended its key to the URL) or as a body field's name is not echoed in the problem answer.
 */
describe('a secret sent as a query parameter or body field name is not echoed in a 400', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  test('query parameter names and body field names holding a key or a JWT', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2YWxpZGF0aW9uIn0.c2lnbmF0dXJlLW9mLWEtdmFsaWRhdGlvbg';
    for (const [method, path, body, secret] of [
      ['GET', `/keys?${ids.secret}`, undefined, ids.secret],
      ['GET', `/audit?${ids.secret.replaceAll('_', '%5F')}=1`, undefined, ids.secret],
      ['GET', `/keys?${jwt}`, undefined, jwt.split('.')[1]!],
      ['POST', '/apps', { name: 'x', [ids.secret]: 1 }, ids.secret],
      ['POST', '/apps', { name: 'x', [jwt]: 1 }, jwt.split('.')[1]!],
    ] as const) {
      const res = await h.admin(method, path, body);
      expectProblem(res, 400, 'VALIDATION_FAILED');
      const answer = JSON.stringify(res.body);
      assert.match(answer, /Unrecognized key/);
      assert.ok(!answer.includes(secret), `${method} ${path.slice(0, 8)}…: ${answer}`);
    }
  });
});
