import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { asPage, Browser, insecure, startAuthHarness, type AuthHarness, type Page } from './support/oauth.ts';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * oidc-provider's router matches paths case-insensitively and with one trailing slash, so `/device/` and
 * `/DEVICE` are the code-entry route too: the RFC 8628 §5.1 throttle must hold on them as on `/device`.
 */
describe('the device user-code throttle holds on every spelling of the code-entry path', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTHORIZATION_LOGIN_IP_FAILURE_LIMIT: '3' });
  });
  after(() => h.close());

  /** The form's action with the path spelled differently. */
  const respelled = (page: Page, path: string): Page => ({
    ...page,
    html: page.html.replace(/action="([^"]*)\/device"/, (_m, base: string) => `action="${base}${path}"`),
  });

  test('past the limit, the right code sent to /device/ or /DEVICE is not looked up either', async () => {
    const orders = await h.api('orders', ['orders:read']);
    const tv = await h.client({ name: 'TV app', type: 'public', grantTypes: [DEVICE_CODE], scopes: ['orders:read'], apiIds: [orders.id] });
    const started = await oauth.processDeviceAuthorizationResponse(
      h.as,
      tv.client,
      await oauth.deviceAuthorizationRequest(h.as, tv.client, tv.auth, { scope: 'orders:read' }, insecure),
    );
    const browser = new Browser(h.issuer);
    let page = asPage(await browser.go(started.verification_uri));
    assert.match(page.html, /action="[^"]*\/device"/);
    // Three wrong codes, sent to /device/: each is looked up and refused, and must count.
    for (const code of ['BCDF-GHJK', 'LMNP-QRST', 'VWXZ-BCDF']) {
      page = asPage(await browser.submit(respelled(page, '/device/'), { user_code: code }));
      if (page.status === 429) break;
      assert.match(page.html, /That code is not right/);
    }
    for (const path of ['/device', '/device/', '/DEVICE']) {
      const form = asPage(await browser.go(started.verification_uri));
      const right = asPage(await browser.submit(respelled(form, path), { user_code: started.user_code }));
      assert.equal(right.status, 429, `${path}: the right code must wait once the address is over the limit`);
      assert.doesNotMatch(right.html, /Confirm the device/, path);
    }
  });
});
