import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateKey } from '../../domain/key-format.ts';
import { denialOf, exchangeFor, type RequestHead } from '../test-exchange.ts';
import { transportStage } from './transport.ts';

const { secret: KEY } = generateKey('api', 'live');
const { secret: PUBLISHABLE } = generateKey('publishable', 'live');

const run = async (head: RequestHead, scheme: 'http' | 'https' = 'http', refusePlaintext = true) => {
  const exposed: { secret: string; ip: string }[] = [];
  const sources: string[] = [];
  const exchange = await exchangeFor(head, { scheme, ip: '198.51.100.7' });
  const stage = transportStage({ refusePlaintext, onExposed: (secret, ip, source) => (exposed.push({ secret, ip }), sources.push(source)) });
  const denial = await denialOf(stage(exchange));
  return { denial, exposed, sources };
};

describe('transport stage', () => {
  test('over HTTPS credential headers pass, and so does a query parameter named like one that holds no API key', async () => {
    const { denial, exposed } = await run({ target: `/orders?access_token=abc&q=${PUBLISHABLE}`, headers: [['Authorization', `Bearer ${KEY}`]] }, 'https');
    assert.equal(denial, undefined);
    assert.deepEqual(exposed, [], 'a publishable key is public by design');
  });

  test('an API key in the query string is refused over HTTPS too, and reported as exposed from the query string', async () => {
    for (const target of [`/orders?api_key=${KEY}`, `/orders?q=${encodeURIComponent(`see ${KEY}`)}`, `/orders?${KEY.replace('_', '%5F')}`]) {
      const { denial, exposed, sources } = await run({ target }, 'https');
      assert.equal(denial?.code, 'CREDENTIALS_IN_QUERY', target);
      assert.deepEqual(exposed, [{ secret: KEY, ip: '198.51.100.7' }]);
      assert.deepEqual(sources, ['query-string']);
    }
    const lookalike = `${KEY.slice(0, -1)}${KEY.endsWith('A') ? 'B' : 'A'}`;
    assert.equal((await run({ target: `/orders?q=${lookalike}` }, 'https')).denial, undefined, 'a look-alike whose checksum fails is not a key');
  });

  test('with plain HTTP allowed (development), a credential header passes but an API key in the query string does not', async () => {
    assert.equal((await run({ headers: [['Authorization', `Bearer ${KEY}`]] }, 'http', false)).denial, undefined);
    const inQuery = await run({ target: `/orders?key=${KEY}` }, 'http', false);
    assert.equal(inQuery.denial?.code, 'CREDENTIALS_IN_QUERY');
    assert.deepEqual(inQuery.sources, ['query-string']);
  });

  test('over plain HTTP a request without credentials passes', async () => {
    assert.equal((await run({ target: '/orders?page=2&key=' })).denial, undefined, 'an empty credential parameter is none');
  });

  test('over plain HTTP a credential header is refused, and an API key in it reported as exposed', async () => {
    const bearer = await run({ headers: [['Authorization', `Bearer ${KEY}`]] });
    assert.equal(bearer.denial?.code, 'CREDENTIALS_OVER_HTTP');
    assert.deepEqual(bearer.exposed, [{ secret: KEY, ip: '198.51.100.7' }]);
    assert.deepEqual(bearer.sources, ['plain-http']);
    assert.deepEqual((await run({ headers: [['X-API-Key', PUBLISHABLE]] })).exposed, [{ secret: PUBLISHABLE, ip: '198.51.100.7' }]);
  });

  test('over plain HTTP a token or any unknown credential is refused, with nothing to report', async () => {
    for (const headers of [
      [['Authorization', 'Bearer eyJ.token.sig']],
      [['Authorization', 'Basic dTpw']],
      [['DPoP', 'proof']],
      [['X-API-Key', 'not-ours']],
    ] as const) {
      const { denial, exposed } = await run({ headers });
      assert.equal(denial?.code, 'CREDENTIALS_OVER_HTTP', headers[0][0]);
      assert.deepEqual(exposed, []);
    }
  });

  test('over plain HTTP a credential in the query string is refused: a parameter named like one, or one of our keys anywhere', async () => {
    for (const query of ['?access_token=abc', '?API-KEY=abc', '?client_secret=s', `?q=${KEY}`, `?${KEY}`, `?q=${encodeURIComponent(`see ${KEY}`)}`]) {
      assert.equal((await run({ target: `/orders${query}` })).denial?.code, 'CREDENTIALS_OVER_HTTP', query);
    }
  });

  test('an API key found in the query string, even percent-encoded, is reported as exposed', async () => {
    const encoded = KEY.replace('_', '%5F');
    assert.deepEqual((await run({ target: `/orders?key=${encoded}` })).exposed, [{ secret: KEY, ip: '198.51.100.7' }]);
    assert.deepEqual(
      (await run({ target: `/orders?q=x${KEY}` })).exposed.map((e) => e.secret),
      [KEY],
      'inside another value',
    );
  });
});
