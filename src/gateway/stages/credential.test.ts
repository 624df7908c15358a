import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ApiAuthType } from '../../domain/entities.ts';
import { denialOf, routedExchangeFor, type RequestHead } from '../test-exchange.ts';
import { credentialStage } from './credential.ts';

const KEY = 'gk_live_0123456789abcdefghijklmnopqrstu';

/** The credential stage runs after the route stage has settled the requirement. */
const run = async (type: ApiAuthType, head: RequestHead) => {
  const exchange = await routedExchangeFor({ type, scopes: [] }, head);
  return { exchange, denial: await denialOf(credentialStage(exchange)) };
};

describe('credential stage', () => {
  describe('a key-only route', () => {
    test('takes the key from X-API-Key or from Authorization: Bearer, in any case of the scheme', async () => {
      assert.equal((await run('apiKey', { headers: [['X-API-Key', ` ${KEY} `]] })).exchange.credential, KEY);
      assert.equal((await run('apiKey', { headers: [['Authorization', `Bearer ${KEY}`]] })).exchange.credential, KEY);
      assert.equal((await run('apiKey', { headers: [['Authorization', `bEaReR ${KEY}`]] })).exchange.credential, KEY);
    });

    test('a missing key is MISSING_API_KEY, saying where to send it', async () => {
      const { denial } = await run('apiKey', {});
      assert.equal(denial?.code, 'MISSING_API_KEY');
      assert.match(denial?.detail ?? '', /X-API-Key/);
      assert.equal((await run('apiKey', { headers: [['Authorization', 'Bearer    ']] })).denial?.code, 'MISSING_API_KEY', 'an empty value is no key');
      assert.equal((await run('apiKey', { headers: [['Authorization', `Basic ${KEY}`]] })).denial?.code, 'MISSING_API_KEY', 'another scheme is not read');
    });

    test('a key in the query string is never taken', async () => {
      for (const target of [`/orders?api_key=${KEY}`, `/orders?key=${KEY}`, `/orders?access_token=${KEY}`]) {
        const { exchange, denial } = await run('apiKey', { target });
        assert.equal(denial?.code, 'MISSING_API_KEY', target);
        assert.equal(exchange.credential, null);
      }
    });
  });

  describe('a token route', () => {
    test('takes the token from Authorization: Bearer, or DPoP with its scheme noted', async () => {
      const bearer = await run('bearer', { headers: [['Authorization', 'Bearer eyJ.token.sig']] });
      assert.equal(bearer.denial, undefined);
      assert.equal(bearer.exchange.token, 'eyJ.token.sig');
      assert.equal(bearer.exchange.tokenScheme, 'bearer');
      const dpop = await run('bearer', { headers: [['Authorization', 'DPoP eyJ.token.sig']] });
      assert.equal(dpop.exchange.token, 'eyJ.token.sig');
      assert.equal(dpop.exchange.tokenScheme, 'dpop');
    });

    test('an API key where the token belongs is not taken for a token', async () => {
      const { exchange, denial } = await run('bearer', { headers: [['Authorization', `Bearer ${KEY}`]] });
      assert.equal(denial?.code, 'MISSING_TOKEN');
      assert.match(denial?.detail ?? '', /access token/);
      assert.equal(exchange.token, null);
      assert.equal(exchange.credential, null, 'nor used as a key on a route that asks for none');
    });
  });

  describe('a route that needs a key and a token', () => {
    test('takes the key from X-API-Key and the token from Authorization', async () => {
      const { exchange, denial } = await run('apiKey+bearer', {
        headers: [
          ['Authorization', 'Bearer eyJ.token.sig'],
          ['X-API-Key', KEY],
        ],
      });
      assert.equal(denial, undefined);
      assert.equal(exchange.credential, KEY);
      assert.equal(exchange.token, 'eyJ.token.sig');
    });

    test('a key in Authorization is not read as the key: both are then missing, and the detail says where each goes', async () => {
      const { exchange, denial } = await run('apiKey+bearer', { headers: [['Authorization', `Bearer ${KEY}`]] });
      assert.equal(denial?.code, 'MISSING_CREDENTIAL');
      assert.match(denial?.detail ?? '', /X-API-Key.*access token as Authorization/);
      assert.equal(exchange.credential, null);
    });

    test('a token without the key is MISSING_API_KEY', async () => {
      assert.equal((await run('apiKey+bearer', { headers: [['Authorization', 'Bearer eyJ.token.sig']] })).denial?.code, 'MISSING_API_KEY');
    });
  });

  test('a public route reads no credential, even one that is sent', async () => {
    const { exchange, denial } = await run('public', {
      headers: [
        ['Authorization', `Bearer ${KEY}`],
        ['X-API-Key', KEY],
      ],
    });
    assert.equal(denial, undefined);
    assert.equal(exchange.credential, null);
    assert.equal(exchange.token, null);
  });
});
