import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * A secret pasted where an id belongs (`gatehouse keys show gk_live_...`, a script that mixed up its
 * variables) is not echoed back in the 404's detail, which CLIs print and proxies and CI logs keep: the
 * admin API never echoes a key it was sent (401 for admin keys, 400 for bodies); ids in paths neither.
 */
describe('a secret sent as an id in the path is not echoed', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  test('GET, PATCH and rotate with a key secret as the id: 404 without the secret', async () => {
    for (const [method, path, body] of [
      ['GET', `/keys/${ids.secret}`],
      ['PATCH', `/keys/${ids.secret}`, { name: 'x' }],
      ['POST', `/keys/${ids.secret}/rotate`, {}],
      ['GET', `/keys/${ids.secret}/usage`],
      ['GET', `/webhooks/${ids.secret}/nope`],
    ] as const) {
      const res = await h.admin(method, path, body);
      expectProblem(res, 404, 'RESOURCE_NOT_FOUND');
      assert.ok(!JSON.stringify(res.body).includes(ids.secret), `${method} ${path.replace(ids.secret, '<secret>')}: ${res.body.detail}`);
    }
  });
});
