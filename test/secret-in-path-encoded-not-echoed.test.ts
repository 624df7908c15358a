import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * The admin API's 404 for a path it has no route for quotes the path as sent, and an id it cannot
 * find as given: a key hidden behind percent-encoding (`gk%5Flive%5F...`) or a JWT (an access token
 * pasted where an id belongs) is not echoed in the detail either, as the request log and trace spans
 * leave neither (domain/secret-redaction.ts).
 */
describe('a secret in any spelling in the path is not echoed in a 404', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  test('a percent-encoded key and a JWT, in an unknown route and as an id: 404 without the secret', async () => {
    const encoded = ids.secret.replaceAll('_', '%5F');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJlLXRoYXQtaXMtbG9uZw';
    for (const [path, secret] of [
      [`/webhooks/${encoded}/nope`, encoded],
      [`/webhooks/${jwt}/nope`, jwt],
      [`/keys/${jwt}`, jwt],
    ] as const) {
      const res = await h.admin('GET', path);
      expectProblem(res, 404, 'RESOURCE_NOT_FOUND');
      const answer = JSON.stringify(res.body);
      for (const part of [secret, ids.secret, jwt.split('.')[1]!])
        assert.ok(!answer.includes(part), `GET ${path.replace(secret, '<secret>')}: ${res.body.detail}`);
    }
  });
});
