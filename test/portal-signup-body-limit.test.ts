import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem } from './support/harness.ts';
import { startConsoleHarness } from './support/console.ts';
import { PASSWORD, type AuthHarness } from './support/oauth.ts';

/**
 * POST /bff/signup is open to anyone (no session, no key: the Origin header, which any client other
 * than a browser sets as it likes, is its only gate). Its body is bounded, as the admin and portal
 * APIs' are: a large one is 413 BODY_TOO_LARGE, refused before it is read into memory and parsed,
 * not buffered whole and then found invalid.
 */
describe('portal sign-up takes a bounded body', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness({ GATEHOUSE_PORTAL_SIGNUP: 'open' });
  });
  after(() => h.close());

  const signUp = async (body: string) => {
    const res = await fetch(`${h.issuer}/bff/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: new URL(h.issuer).origin },
      body,
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };

  test('a 4 MB sign-up is 413 BODY_TOO_LARGE; a normal one is made', async () => {
    const huge = await signUp(JSON.stringify({ username: 'big@dev.example', password: PASSWORD, name: 'x'.repeat(4 * 1024 * 1024) }));
    expectProblem(huge, 413, 'BODY_TOO_LARGE');
    const made = await signUp(JSON.stringify({ username: 'small@dev.example', password: PASSWORD }));
    assert.equal(made.status, 201, JSON.stringify(made.body));
  });
});
