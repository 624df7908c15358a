import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromOwnOrigin, safeReturnTo } from './origin.ts';

test('returnTo keeps a path of the web app and refuses anything that could leave the origin', () => {
  assert.equal(safeReturnTo('/console/keys', '/console/'), '/console/keys');
  assert.equal(safeReturnTo('/developers/apps/app_1?tab=keys', '/console/'), '/developers/apps/app_1?tab=keys');
  assert.equal(safeReturnTo('/console', '/x'), '/console');
  for (const bad of [
    undefined,
    '',
    'https://evil.example/console/',
    '//evil.example/console/',
    '/console//evil.example',
    '/\\evil.example',
    '/console/%2f%2fevil.example',
    '/console/%0d%0aSet-Cookie:x',
    '/admin/v1/keys',
    '/consolex',
    'javascript:alert(1)',
    '/console/\nx',
  ]) {
    assert.equal(safeReturnTo(bad, '/console/'), '/console/', String(bad));
  }
});

test('a state change must name one of our origins, and Sec-Fetch-Site, when sent, must say same-origin', () => {
  const ours = new Set(['http://127.0.0.1:8081']);
  assert.equal(fromOwnOrigin({ headers: { origin: 'http://127.0.0.1:8081' } }, ours), true);
  assert.equal(fromOwnOrigin({ headers: { origin: 'http://127.0.0.1:8081', 'sec-fetch-site': 'same-origin' } }, ours), true);
  assert.equal(fromOwnOrigin({ headers: { origin: 'http://127.0.0.1:8081', 'sec-fetch-site': 'same-site' } }, ours), false);
  assert.equal(fromOwnOrigin({ headers: { origin: 'https://evil.example' } }, ours), false);
  assert.equal(fromOwnOrigin({ headers: { origin: 'null' } }, ours), false);
  assert.equal(fromOwnOrigin({ headers: {} }, ours), false);
});
