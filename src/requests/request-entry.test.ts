import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestRecord } from '../gateway/observer.ts';
import { testRequestRecord } from '../gateway/test-exchange.ts';
import { REQUEST_LOG_FIELDS, type RequestLogEntry } from '../store/port.ts';
import { keptQuery, requestLogEntry, requestLogRow } from './request-entry.ts';
import { pack, unpack } from '../store/entry-batch.ts';

const KEY = 'gk_live_4Hq2dVb8TkLmN0pQrStUvWxY1a2b3c';
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

const record = (overrides: Partial<RequestRecord> = {}): RequestRecord =>
  testRequestRecord({ startedAt: Date.UTC(2026, 10, 29, 12), durationMs: 1.23456, userAgent: 'curl/8', requestId: 'r-1', ...overrides });

test('by default a query keeps its parameter names only', () => {
  assert.equal(keptQuery('?page=2&sort=desc&page=3', 'names'), 'page&sort&page');
  assert.equal(keptQuery('', 'names'), null);
  assert.equal(keptQuery('?', 'names'), null);
  assert.equal(keptQuery(`?${KEY}`, 'names'), 'REDACTED', 'a key sent as a bare parameter name');
});

test('an API that opts in keeps values, but never a credential: by parameter name, or by shape anywhere', () => {
  const names = [
    'api_key',
    'apiKey',
    'API-KEY',
    'access_token',
    'token',
    'client_secret',
    'password',
    'X-Amz-Signature',
    'X-Amz-Credential',
    'sig',
    'code',
    'session_id',
    'jwt',
  ];
  for (const name of names) assert.equal(keptQuery(`?${name}=s3cr3t&month=11`, 'values'), `${name}=REDACTED&month=11`, name);
  assert.equal(keptQuery(`?q=${KEY}`, 'values'), 'q=REDACTED');
  assert.equal(keptQuery(`?q=${encodeURIComponent(`x ${KEY} y`)}`, 'values'), 'q=x+REDACTED+y', 'percent-encoded, inside a value');
  assert.equal(keptQuery(`?state=${JWT}`, 'values'), 'state=REDACTED');
  assert.equal(keptQuery('?month=11&region=eu', 'values'), 'month=11&region=eu');
  assert.equal(keptQuery('?token=', 'values'), 'token=', 'an empty value is no credential');
  // A value that is itself a URL (a redirect target): its password and credential parameters go, by the shared rule.
  assert.equal(
    keptQuery(`?next=${encodeURIComponent('https://u:pw1@h.example/cb?code=c0de&x=1')}`, 'values'),
    `next=${encodeURIComponent('https://u:REDACTED@h.example/cb?code=REDACTED&x=1')}`,
  );
});

test('an entry removes keys and tokens from the path and user agent, keeps the rest, and bounds its size', () => {
  const entry = requestLogEntry(record({ path: `/orders/by-key/${KEY}/x`, userAgent: `bot ${JWT}` }), 'names');
  assert.equal(entry.path, '/orders/by-key/REDACTED/x');
  assert.equal(entry.userAgent, 'bot REDACTED');
  assert.equal(requestLogEntry(record({ path: `/orders/gk%5F${KEY.slice(3)}` }), 'names').path, '/orders/REDACTED', 'hidden behind percent-encoding');
  assert.equal(
    requestLogEntry(record({ path: `/orders/gk%5F${KEY.slice(3)}%00%0a%1b[31m%2F%41` }), 'names').path,
    '/orders/REDACTED%00%0a%1b[31m%2FA',
    'escapes of controls and of characters no secret holds stay escaped, those of a secret character are decoded',
  );
  assert.equal(requestLogEntry(record({ path: `/${'a'.repeat(5000)}` }), 'names').path.length, 2048);
  assert.equal(requestLogEntry(record({ userAgent: 'u'.repeat(5000) }), 'names').userAgent!.length, 512);
  const plain = requestLogEntry(record({ query: '?page=2' }), 'names');
  assert.deepEqual(plain, {
    at: Date.UTC(2026, 10, 29, 12),
    requestId: 'r-1',
    traceId: null,
    apiId: 'api_1',
    api: 'orders',
    route: '/orders',
    method: 'GET',
    path: '/orders/items',
    query: 'page',
    status: 200,
    denialCode: null,
    durationMs: 1.235,
    upstreamMs: 0.5,
    bytesIn: 0,
    bytesOut: 10,
    keyId: 'key_1',
    appId: 'app_1',
    user: null,
    clientId: null,
    address: '192.0.2.1',
    userAgent: 'curl/8',
  });
});

// Every field a different value, so a swapped pair of fields cannot pass.
const everyField: RequestLogEntry = {
  at: 1,
  requestId: 'req-2',
  traceId: 'trace-3',
  apiId: 'api-4',
  api: 'api five',
  route: '/route/6',
  method: 'GET7',
  path: '/path/8',
  query: 'q=9',
  status: 210,
  denialCode: 'CODE_11',
  durationMs: 12.5,
  upstreamMs: 13.5,
  bytesIn: 14,
  bytesOut: 15,
  keyId: 'key-16',
  appId: 'app-17',
  user: 'user-18',
  clientId: 'client-19',
  address: '192.0.2.20',
  userAgent: 'agent-21',
};

test('a packed request-log entry holds its fields in REQUEST_LOG_FIELDS order, the order of the store columns', () => {
  assert.deepEqual(
    pack(everyField),
    REQUEST_LOG_FIELDS.map((field) => everyField[field]),
  );
  assert.deepEqual(unpack(pack(everyField)), everyField);
});

test("a record's row is its entry, packed: secrets removed the same way", () => {
  const r = record({ path: `/orders/by-key/${KEY}/x`, userAgent: `bot ${JWT}`, requestId: 'caller-id', query: '?page=2&token=abc' });
  assert.deepEqual(requestLogRow(r, 'values'), pack(requestLogEntry(r, 'values')));
  assert.deepEqual(unpack(requestLogRow(r, 'names')), requestLogEntry(r, 'names'));
});

// docs/observability/request-log.md: a value is REDACTED when its parameter is named like a credential
// (`apiKey`, `access_token`, `client_secret`...). The camelCase spellings of the same names are as common.
test('query values of camelCase credential parameters (accessToken, clientSecret, refreshToken...) are not kept', () => {
  const kept = keptQuery(
    '?accessToken=ya29.a0AfH6SMB&clientSecret=s3cr3t-v4lue&refreshToken=1%2F%2F0g-xyz&userPassword=hunter2&sessionToken=FwoGZXIvYXdz&page=2',
    'values',
  );
  assert.equal(kept, 'accessToken=REDACTED&clientSecret=REDACTED&refreshToken=REDACTED&userPassword=REDACTED&sessionToken=REDACTED&page=2');
});

test('names already recognised stay so, and words that only contain a credential word are kept', () => {
  assert.equal(
    keptQuery('?apiKey=abc&APIKey=abc&X-Amz-Signature=abc&access_token=abc&monkey=banana&keyboard=qwerty', 'values'),
    'apiKey=REDACTED&APIKey=REDACTED&X-Amz-Signature=REDACTED&access_token=REDACTED&monkey=banana&keyboard=qwerty',
  );
});
