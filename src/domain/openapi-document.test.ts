import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOpenApiDocument, MAX_OPENAPI_DOCUMENT_BYTES } from './openapi-document.ts';

const minimal = { openapi: '3.1.0', info: { title: 'Orders', version: '1' }, paths: { '/orders': { get: { responses: { 200: { description: 'ok' } } } } } };

test('a minimal OpenAPI 3.x document is accepted as JSON and as YAML', () => {
  const json = checkOpenApiDocument(JSON.stringify(minimal), 'json');
  assert.equal(json.ok, true);
  const yaml = checkOpenApiDocument('openapi: 3.0.3\ninfo:\n  title: Orders\n  version: "1"\npaths: {}\n', 'yaml');
  assert.deepEqual(yaml, { ok: true, document: { openapi: '3.0.3', info: { title: 'Orders', version: '1' }, paths: {} } });
  assert.equal(checkOpenApiDocument(JSON.stringify({ ...minimal, paths: undefined, webhooks: {} }), 'json').ok, true, '3.1 without paths');
});

test('what is not OpenAPI 3.x is refused, naming the fields', () => {
  const fields = (text: string, format: 'json' | 'yaml' = 'json') => {
    const r = checkOpenApiDocument(text, format);
    return r.ok ? {} : r.fields;
  };
  assert.deepEqual(Object.keys(fields(JSON.stringify({ ...minimal, openapi: '2.0' }))), ['openapi']);
  assert.deepEqual(Object.keys(fields(JSON.stringify({ swagger: '2.0', info: minimal.info, paths: {} }))), ['openapi']);
  assert.deepEqual(Object.keys(fields(JSON.stringify({ ...minimal, info: { title: 'x' } }))), ['info.version']);
  assert.deepEqual(Object.keys(fields(JSON.stringify({ openapi: '3.1.0', info: minimal.info }))), ['paths']);
  assert.deepEqual(Object.keys(fields('[1,2]')), ['body']);
  assert.match(fields('{"openapi":', 'json').body!, /not valid JSON/);
  assert.match(fields('a: [', 'yaml').body!, /not valid YAML/);
  assert.match(fields('a: 1\na: 2\n', 'yaml').body!, /not valid YAML/);
  assert.deepEqual(Object.keys(fields(' '.repeat(MAX_OPENAPI_DOCUMENT_BYTES + 1))), ['body']);
});

test('a YAML alias bomb is refused instead of expanded', () => {
  const bomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
    ...Array.from(
      { length: 8 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(',')}]`,
    ),
  ].join('\n');
  const r = checkOpenApiDocument(bomb, 'yaml');
  assert.equal(r.ok, false);
});
