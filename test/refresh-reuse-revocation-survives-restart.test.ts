import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startPostgres, type PrivatePostgres } from './support/postgres.ts';
import { failGrantRevocationsWhile } from './support/failing-store.ts';
import { Browser, claimsOf, codeFlow, REDIRECT, startAuthHarness, type AuthHarness, refreshWith } from './support/oauth.ts';

/**
 * A reuse of a rotated refresh token (RFC 9700 §4.14.2) whose grant revocation the store failed was
 * retried every 5 s, but in memory only: a restart (a crash, a deploy) during the outage forgot it, and
 * the grant lived on, its successor (perhaps a thief's) refreshing for weeks, unless someone presented
 * the reused token again. The revocation is now journaled on the node's disk, under the data dir,
 * before the reuse is answered, and replayed at start: a real restart on the same data dir, the store
 * failing at the reuse and recovered after, ends with the grant revoked. On SQLite (the store a file
 * beside the journal) and on PostgreSQL (the test support's private server), where several nodes share
 * the store and each journals what it saw.
 */
for (const driver of ['sqlite', 'postgres'] as const)
  describe(`a refresh token reuse whose grant revocation the store failed, then a restart (${driver})`, () => {
    let pg: PrivatePostgres | undefined;
    let env: Record<string, string> = {};
    let first: AuthHarness;
    let second: AuthHarness | undefined;
    let web: Awaited<ReturnType<AuthHarness['client']>>;
    let user: { id: string; username: string };
    let storeFails = false;
    before(async () => {
      if (driver === 'postgres') {
        pg = await startPostgres();
        await pg.createDatabase('restart');
        env = { GATEHOUSE_STORE_DRIVER: 'postgres', GATEHOUSE_STORE_URL: pg.urlWithoutPassword('restart'), GATEHOUSE_STORE_PASSWORD: pg.password };
      }
      first = await startAuthHarness(env);
      const orders = await first.api('orders', ['orders:read']);
      web = await first.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
      user = await first.user();
      // Every store call that revokes a grant fails as a store going away does; deleting a single token does not.
      failGrantRevocationsWhile(first.gh.ctx.store, () => storeFails);
    });
    after(async () => {
      await second?.close();
      await first?.close();
      await pg?.stop();
    });

    test('the revocation is journaled before the reuse is answered, and the restarted node revokes the grant with no one presenting the token again', async () => {
      const tokens = await codeFlow(first, new Browser(first.issuer), web, user.username, { scope: 'openid orders:read' });
      const grantId = claimsOf(tokens.access_token).gid as string;
      const rotated = await refreshWith(first, web, tokens.refresh_token!);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));

      storeFails = true;
      const reused = await refreshWith(first, web, tokens.refresh_token!);
      assert.equal(reused.status, 503, JSON.stringify(reused.body));
      // <dataDir>/grant-revocations-pending (revocation-journal.ts): one file per grant.
      const journal = join(first.dir, 'grant-revocations-pending');
      const files = readdirSync(journal);
      assert.equal(files.length, 1, 'one pending revocation journaled by the time the client is answered');
      assert.equal((statSync(journal).mode & 0o777).toString(8), '700');
      assert.equal((statSync(join(journal, files[0]!)).mode & 0o777).toString(8), '600');

      // Stopped while the store still fails it (a deploy, a crash), then started on the same data dir: the store is back.
      await first.gh.close();
      storeFails = false;
      second = await startAuthHarness({ ...env, GATEHOUSE_DATA_DIR: first.dir });
      const listed = async () => (await second!.gh.ctx.store.revocations.since(0, Date.now())).filter((r) => r.kind === 'grant' && r.id === grantId);
      const audited = async () => (await second!.audit('grant.revoked')).some((e: { targetId: string }) => e.targetId === grantId);
      // Retried at start and every 5 s after: no one presents the reused token. (Its audit entry is written just after the revocation holds.)
      const until = Date.now() + 15_000;
      while (!((await listed()).length === 1 && (await audited())) && Date.now() < until) await delay(100);
      assert.equal((await listed()).length, 1, 'the grant is listed revoked, so its JWT access tokens are refused');
      assert.ok(await audited(), 'in the audit log');

      // The successor (a thief's, perhaps) dies with the grant.
      const successor = await refreshWith(second, web, rotated.body.refresh_token);
      assert.equal(successor.status, 400, JSON.stringify(successor.body));
      assert.equal(successor.body.error, 'invalid_grant');
      assert.deepEqual(await second.gh.ctx.identity!.oidcRecords.listByGrant('RefreshToken', grantId, Date.now()), []);
      const ready = (JSON.parse(await (await fetch(`${second.gh.controlUrl}/readyz`)).text()) as any).components['grant-revocations-pending'];
      assert.equal(ready.ok, true, JSON.stringify(ready));
      assert.deepEqual(readdirSync(journal), [], 'its journal file removed once it held');
    });
  });
