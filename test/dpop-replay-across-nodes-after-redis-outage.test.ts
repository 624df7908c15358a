import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { request } from 'undici';
import { startHarness, TestClock, type Harness } from './support/harness.ts';
import { insecure, startAuthHarness, TEST_MASTER_KEY, type AuthHarness } from './support/oauth.ts';
import { startPostgres, type PrivatePostgres } from './support/postgres.ts';
import { startRedis, type PrivateRedis } from './support/redis.ts';
import { waitFor } from './support/wait.ts';

/**
 * Two nodes behind one name, on PostgreSQL and Redis, the deployment's default while Redis is away
 * (`local`): each node records DPoP proofs in its own set. A proof accepted at one node during the
 * outage must still be a replay at the other once Redis is back, for as long as its iat passes
 * (RFC 9449 §11.1): the node that saw it tells Redis when Redis returns.
 */
describe('a DPoP proof used at one node during a Redis outage', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let a: AuthHarness;
  let b: Harness;

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    await pg.createDatabase('nodes');
    const env = {
      GATEHOUSE_STORE_DRIVER: 'postgres',
      GATEHOUSE_STORE_URL: pg.urlWithoutPassword('nodes'),
      GATEHOUSE_STORE_PASSWORD: pg.password,
      GATEHOUSE_REDIS_URL: redis.url,
      GATEHOUSE_REDIS_PASSWORD: redis.password,
      GATEHOUSE_AUTH_FAILURES_LIMIT: '1000',
    };
    a = await startAuthHarness(env);
    // B trusts the same issuer (A's URL, as a load balancer's would be): tokens from either node pass at both.
    b = await startHarness({ ...env, GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY, GATEHOUSE_AUTHORIZATION_ISSUER: a.issuer }, TestClock.wall());
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  test('is a replay at another node once Redis is back, while its iat window is open', async () => {
    const orders = await a.api('orders', ['orders:read'], { auth: { type: 'bearer' } });
    const bound = await a.client({ name: 'Bound', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [orders.id], dpopBound: true });
    const keyPair = await oauth.generateKeyPair('ES256');
    const tokens = await oauth.processClientCredentialsResponse(
      a.as,
      bound.client,
      await oauth.clientCredentialsGrantRequest(
        a.as,
        bound.client,
        bound.auth,
        { scope: 'orders:read' },
        { DPoP: oauth.DPoP(bound.client, keyPair), ...insecure },
      ),
    );
    // Both nodes answer under A's name (one name in front of both), so a proof's htu fits either.
    const host = new URL(a.gh.gatewayUrl).host;
    const htu = `http://${host}/orders/items`;
    const proof = async () =>
      new SignJWT({ htm: 'GET', htu, jti: randomUUID(), ath: createHash('sha256').update(tokens.access_token).digest('base64url') })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(keyPair.publicKey) })
        .setIssuedAt()
        .sign(keyPair.privateKey);
    const send = async (node: Harness, dpop: string) => {
      const res = await request(`${node.gh.gatewayUrl}/orders/items`, { headers: { host, authorization: `DPoP ${tokens.access_token}`, dpop } });
      return { status: res.statusCode, body: await res.body.text() };
    };
    await waitFor(async () => (await send(b, await proof())).status === 200, { what: "the API on B's gateway" });

    await redis.pause();
    const during = await proof();
    try {
      assert.equal((await send(a, during)).status, 200, 'accepted at A from its own set while Redis is away');
    } finally {
      await redis.resume();
    }
    const back = Date.now();
    // Both nodes connected to Redis again, as their engine probes see (A's own requests need not come first).
    await waitFor(
      async () => {
        const ready = await Promise.all(
          [a, b].map(
            async (n) => (await (await fetch(`${n.gh.controlUrl}/readyz`)).json()) as { engines: Record<string, { status: string; checkedAt: string | null }> },
          ),
        );
        return ready.every((r) => r.engines.redis?.status === 'up' && Date.parse(r.engines.redis.checkedAt ?? '') > back);
      },
      { what: 'both nodes connected to Redis again', timeoutMs: 10_000 },
    );
    const replayed = await send(b, during);
    assert.equal(replayed.status, 401, `the proof A accepted during the outage, replayed at B: ${replayed.body}`);
    assert.match(replayed.body, /already used/);
    assert.equal((await send(b, await proof())).status, 200, 'a fresh proof still passes at B');
    assert.equal((await send(a, during)).status, 401, 'and the replay at A itself');
  });
});
