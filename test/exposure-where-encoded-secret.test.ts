import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * An exposure report's `where` names a place, never the secret: one in it is refused, as it would be
 * kept in the key, the audit log and the key.exposed webhook payload. The URL a key leaked at often
 * has it percent-encoded (`?k=gk%5Flive%5F...`, copied from a log or a proxy), which is refused too.
 */
describe('an exposure report whose where holds the secret percent-encoded', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  test('is refused, and the secret reaches neither the key nor the audit log', async () => {
    const encoded = ids.secret.replaceAll('_', '%5F');
    for (const where of [`https://paste.example/raw?k=${encoded}`, `https://paste.example/raw?k=${encodeURIComponent(ids.secret).replace('g', '%67')}`]) {
      const res = await h.admin('POST', `/keys/${ids.keyId}/exposed`, { source: 'operator', where });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.ok(!JSON.stringify(res.body).includes(encoded));
    }
    const key = await h.admin('GET', `/keys/${ids.keyId}`);
    assert.equal(key.body.exposedAt, null, 'not recorded');
    const audit = await h.admin('GET', '/audit');
    assert.equal(audit.status, 200);
    assert.ok(!JSON.stringify(audit.body).includes(encoded), 'the encoded secret is in the audit log');
    // A place that merely looks like a prefix (a gcs_ file of Google Cloud Storage code) is still a place.
    const place = await h.admin('POST', `/keys/${ids.keyId}/exposed`, { source: 'operator', where: 'src/gcs_upload.py line 12' });
    assert.equal(place.status, 200, JSON.stringify(place.body));
  });
});
