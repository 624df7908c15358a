import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { denialOf, exchangeFor } from '../test-exchange.ts';
import { canonicalPathStage } from './canonical-path.ts';

const run = async (target: string) => {
  const exchange = await exchangeFor({ target });
  return { exchange, denial: await denialOf(canonicalPathStage(exchange)) };
};

describe('canonical-path stage', () => {
  test('sets the canonical path, which is what later stages route on; the query string is kept as sent', async () => {
    const plain = await run('/orders/items?page=2&sort=name');
    assert.equal(plain.denial, undefined);
    assert.equal(plain.exchange.canonicalPath, '/orders/items');
    assert.equal(plain.exchange.query, '?page=2&sort=name');
    const spelled = await run('/orders//%69tems/%7e1');
    assert.equal(spelled.denial, undefined);
    assert.equal(spelled.exchange.canonicalPath, '/orders/items/~1', 'empty segments merged, unreserved characters decoded');
  });

  test('a path upstreams could read differently is refused with PATH_NOT_CANONICAL', async () => {
    for (const target of [
      '/orders/../admin',
      '/orders/%2e%2e/admin',
      '/orders/./items',
      '/orders%2fadmin',
      '/orders/a%5cb',
      '/orders/a;jsessionid=1',
      '/orders/%252e',
      '/orders/%zz',
    ]) {
      const { denial } = await run(target);
      assert.equal(denial?.code, 'PATH_NOT_CANONICAL', target);
    }
  });

  test('a target that is not a path is refused', async () => {
    assert.equal((await run('http://evil.example/orders')).denial?.code, 'PATH_NOT_CANONICAL');
  });

  test('a "#" in the query string, which Node lets through, is refused', async () => {
    const { exchange, denial } = await run('/orders/items?a=1#fragment');
    assert.equal(denial?.code, 'VALIDATION_FAILED');
    assert.match(denial?.detail ?? '', /percent-encode/);
    assert.equal(exchange.canonicalPath, '/orders/items', 'the path was settled first');
  });

  test('a "#" in the path is refused as not canonical', async () => {
    assert.equal((await run('/orders#items')).denial?.code, 'PATH_NOT_CANONICAL');
  });

  test('a lone "?" or an empty query is no query to check', async () => {
    assert.equal((await run('/orders/items?')).denial, undefined);
  });
});
