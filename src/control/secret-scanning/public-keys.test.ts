import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SigningKeySet } from './public-keys.ts';

const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;

describe('SigningKeySet: configured keys, and the published set fetched and cached', () => {
  const published = [{ key_identifier: 'k1', key: pem(), is_current: true }];
  let fetches = 0;
  let failing = false;
  const server = createServer((_req, res) => {
    fetches++;
    if (failing) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ public_keys: published }));
  });
  let url = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
  });
  after(() => server.close());

  test('a configured key is found without fetching; without a URL an unknown one is null', async () => {
    const keys = new SigningKeySet({ configured: [{ identifier: 'local', pem: pem() }], url: null, cacheMs: 3_600_000, clock: () => 0 });
    assert.equal((await keys.get('local'))?.asymmetricKeyType, 'ec');
    assert.equal(await keys.get('k1'), null);
  });

  test('published keys are fetched once per cache period; an unknown identifier refetches at most once a minute; a failed fetch rejects', async () => {
    let now = 1_000_000;
    let failures = 0;
    const keys = new SigningKeySet({ configured: [], url, cacheMs: 3_600_000, clock: () => now, onRefreshFailed: () => failures++ });
    fetches = 0;
    assert.ok(await keys.get('k1'));
    assert.ok(await keys.get('k1'));
    assert.equal(fetches, 1);
    assert.equal(await keys.get('k2'), null, 'not published');
    assert.equal(fetches, 1, 'an unknown identifier right after a fetch does not fetch again');
    published.push({ key_identifier: 'k2', key: pem(), is_current: false });
    now += 61_000;
    assert.ok(await keys.get('k2'), 'a minute later, an unknown identifier fetches the set again and finds the new key');
    assert.equal(fetches, 2);
    failing = true;
    now += 3_600_001;
    const before = fetches;
    await assert.rejects(keys.get('k3'), /HTTP 503/, 'a key never seen, while the keys cannot be fetched: refused to be retried');
    await assert.rejects(keys.get('k4'), /HTTP 503/);
    assert.equal(fetches, before + 1, 'a failed fetch is not repeated within the minute');
    now += 61_000;
    assert.ok(await keys.get('k1'), 'a key in the stale set still verifies while the keys cannot be fetched');
    assert.equal(failures, 1, 'and the failed refresh is reported');
    failing = false;
  });
});
