import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_ROUTES } from './routes.ts';

test('route handlers only call services: none reads the store, the usage recorder or the verifier itself', () => {
  const reaching = ADMIN_ROUTES.filter((r) => /ctx\.(store|usage|verifier)\b/.test(String(r.handle))).map((r) => `${r.method.toUpperCase()} ${r.path}`);
  assert.deepEqual(reaching, []);
});

test('every route that answers with a body declares its response schema; a 204 declares none', () => {
  const wrong = ADMIN_ROUTES.filter((r) => (r.status === 204) !== (r.response === undefined)).map((r) => `${r.method.toUpperCase()} ${r.path}`);
  assert.deepEqual(wrong, []);
});
