import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signInConsole, startConsoleHarness } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';

/**
 * The console sign-in helper (test/support/console.ts) passes a second factor only when the test says
 * one is expected, and fails when one is asked that is not expected or expected and not asked. It once
 * passed one whenever asked, so a test signing in an auditor or a developer (not asked by default) would
 * not have noticed them being asked, nor one signing in an admin noticed a sign-in on the password alone.
 */
describe('signInConsole is strict about the second factor', () => {
  describe('with auditors made to use MFA (authorization.mfaRequiredConsoleRoles)', () => {
    let h: AuthHarness;
    before(async () => {
      h = await startConsoleHarness({}, 'authorization:\n  mfaRequiredConsoleRoles: [admin, operator, auditor]\n');
    });
    after(() => h?.close());

    test('an auditor asked for a second factor the test does not expect fails the sign-in', async () => {
      const auditor = await h.user({ consoleRole: 'auditor' });
      await assert.rejects(
        signInConsole(h, auditor.username, { secondFactor: false }),
        /is asked for a second factor after the password, and the test expects none/,
      );
      const c = await signInConsole(h, auditor.username, { secondFactor: true });
      assert.equal(c.sessionBody.role, 'auditor');
    });

    test('a developer, still not asked, signs in with the password alone', async () => {
      const developer = await h.user({ consoleRole: 'developer' });
      await assert.rejects(signInConsole(h, developer.username, { secondFactor: true, returnTo: '/developers/' }), /is not asked for a second factor/);
      const c = await signInConsole(h, developer.username, { secondFactor: false, returnTo: '/developers/' });
      assert.equal(c.sessionBody.role, 'developer');
    });
  });

  test('an operator let in on the password alone (mfaRequiredConsoleRoles: []) fails a sign-in that expects a second factor', async () => {
    const h = await startConsoleHarness({}, 'authorization:\n  mfaRequiredConsoleRoles: []\n');
    try {
      const operator = await h.user({ consoleRole: 'operator' });
      await assert.rejects(
        signInConsole(h, operator.username, { secondFactor: true }),
        /is not asked for a second factor after the password, and the test expects one/,
      );
      const c = await signInConsole(h, operator.username, { secondFactor: false });
      assert.equal(c.sessionBody.role, 'operator');
    } finally {
      await h.close();
    }
  });
});
