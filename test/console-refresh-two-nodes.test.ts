import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConsoleSessionRepo } from '../src/store/port.ts';
import { fakeWebBuild, SESSION_COOKIE, signInConsole, startConsoleHarness } from './support/console.ts';
import { startHarness, TestClock, type Harness } from './support/harness.ts';
import { TEST_MASTER_KEY, type AuthHarness } from './support/oauth.ts';
import { startPostgres, type PrivatePostgres } from './support/postgres.ts';

/**
 * Two control nodes behind one issuer, on one PostgreSQL database: the web app's requests reach
 * either. When a session's access token has expired and both nodes take a request of it at the same
 * moment, only one may refresh it: a rotating refresh token presented by both is a reuse, which
 * revokes the grant and signs the person out (RFC 9700 §4.14.2).
 */
describe('a console session refreshed at two nodes at once', () => {
  let pg: PrivatePostgres;
  let a: AuthHarness;
  let b: Harness;

  before(async () => {
    pg = await startPostgres();
    await pg.createDatabase('console');
    const env = {
      GATEHOUSE_STORE_DRIVER: 'postgres',
      GATEHOUSE_STORE_URL: pg.urlWithoutPassword('console'),
      GATEHOUSE_STORE_PASSWORD: pg.password,
    };
    a = await startConsoleHarness(env);
    // B serves the same issuer (A's URL, as a load balancer's would be): its BFF refreshes there too.
    b = await startHarness(
      { ...env, GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY, GATEHOUSE_CONSOLE_ASSETS_DIR: fakeWebBuild(), GATEHOUSE_AUTHORIZATION_ISSUER: a.issuer },
      TestClock.wall(),
    );
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await pg?.stop();
  });

  test('both requests are answered, the session goes on and the grant stands (no refresh-token reuse across nodes)', async () => {
    const user = await a.user({ consoleRole: 'operator' });
    const c = await signInConsole(a, user.username, { secondFactor: true });
    const [session] = await a.gh.ctx.store.consoleSessions.listForUser(user.id, a.clock.read());
    // Both nodes read the session, expired, before either refreshes it.
    const restore = meetAtFirstRead([a.gh.ctx.store.consoleSessions, b.gh.ctx.store.consoleSessions], session!.idHash);
    a.clock.advance(16 * 60_000); // past the 15-minute access token, inside the idle timeout
    b.clock.advance(16 * 60_000);
    try {
      const atB = async (path: string) => {
        const res = await fetch(`${b.gh.controlUrl}${path}`, { headers: { cookie: `${SESSION_COOKIE}=${c.session}` } });
        return { status: res.status, body: await res.text() };
      };
      const [fromA, fromB] = await Promise.all([c.call('GET', '/admin/v1/apis'), atB('/admin/v1/apps')]);
      restore();
      assert.equal(fromA.status, 200, `node A: ${JSON.stringify(fromA.body)}`);
      assert.equal(fromB.status, 200, `node B: ${fromB.body}`);
      assert.equal((await c.call('GET', '/bff/session')).status, 200, 'the session goes on at A');
      assert.equal((await atB('/bff/session')).status, 200, 'and at B');
      assert.equal((await a.admin('GET', `/users/${user.id}/grants`)).body.grants.length, 1, 'the grant stands');
    } finally {
      restore();
      a.clock.advance(-16 * 60_000);
      b.clock.advance(-16 * 60_000);
    }
  });
});

/** Holds each node's first read of the session until every node has made one; returns what undoes it. */
function meetAtFirstRead(repos: ConsoleSessionRepo[], idHash: string): () => void {
  let arrived = 0;
  let release!: () => void;
  const met = new Promise<void>((resolve) => (release = resolve));
  const originals = repos.map((repo) => repo.get);
  repos.forEach((repo, i) => {
    const get = originals[i]!.bind(repo);
    let first = true;
    repo.get = async (hash, now) => {
      if (first && hash === idHash) {
        first = false;
        if (++arrived === repos.length) release();
        await met;
      }
      return get(hash, now);
    };
  });
  return () => repos.forEach((repo, i) => (repo.get = originals[i]!));
}
