import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateKey } from '../src/domain/key-format.ts';
import { startHarness, type Harness } from './support/harness.ts';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const identifier = 'c'.repeat(64);
const DAY = 86_400_000;

/**
 * Handled reports are remembered 90 days so a replay is not acted on twice, then forgotten. Without a
 * master key there is no authorization server, whose housekeeping deletes expired records: the
 * receiver must delete them itself, or each distinct report stays a row for ever.
 */
describe('handled secret-scanning reports expire without an authorization server', () => {
  let h: Harness;
  before(async () => {
    const yaml = [
      'secretScanning:',
      '  github:',
      '    publicKeys:',
      `      - identifier: "${identifier}"`,
      '        pem: |',
      ...(publicKey.export({ type: 'spki', format: 'pem' }) as string)
        .trim()
        .split('\n')
        .map((l) => `          ${l}`),
    ].join('\n');
    h = await startHarness({}, undefined, yaml);
    assert.equal(h.gh.ctx.identity, null, 'no master key: no authorization server');
  });
  after(() => h.close());

  const report = async (url: string) => {
    const body = JSON.stringify([{ token: generateKey('api', 'live').secret, type: 'gatehouse_api_key', url, source: 'content' }]);
    const res = await fetch(`${h.gh.controlUrl}/secret-scanning/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'Github-Public-Key-Identifier': identifier,
        'Github-Public-Key-Signature': sign('sha256', Buffer.from(body), { key: privateKey, dsaEncoding: 'der' }).toString('base64'),
      },
      body,
    });
    assert.equal(res.status, 200, await res.text());
    return createHash('sha256').update(body).digest('hex');
  };
  /** The stored row, expired or not (a `now` of 0 reads past every expiry). */
  const stored = (digest: string) => h.gh.ctx.store.oidc.find('SecretScanReport', digest, 0);

  test('a report handled more than 90 days ago is deleted, not only ignored', async () => {
    const old = await report('https://github.com/o/r/blob/1/a');
    assert.notEqual(await stored(old), null, 'remembered for replays');
    h.clock.advance(91 * DAY);
    const recent = await report('https://github.com/o/r/blob/2/b');
    assert.equal(await stored(old), null, 'the expired report is deleted');
    assert.notEqual(await stored(recent), null);
  });
});
