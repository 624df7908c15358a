import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem } from './support/harness.ts';
import { signInConsole, startConsoleHarness, type ConsoleBrowser } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * Developers' webhook endpoints, end to end: a real Gatehouse, the real HTTPS receiver on loopback
 * (the one private network this configuration allows developers) verifying every request with `standardwebhooks`;
 * delivery rounds run with deliverNow(), never by waiting.
 */
describe('webhooks of a developer’s own apps in the portal (/portal/v1): only events about that app, SSRF rules, their own only', () => {
  let receiver: WebhookReceiver;
  let h: AuthHarness;
  let a: ConsoleBrowser;
  let b: ConsoleBrowser;
  before(async () => {
    receiver = await WebhookReceiver.start();
    h = await startConsoleHarness(
      {},
      `
webhooks:
  allowedNetworks: ['127.0.0.1/32']
  developerAllowedNetworks: ['127.0.0.1/32']
  caFile: ${receiver.caFile}
  pollIntervalMs: 600000
portal:
  maxWebhooksPerApp: 2
`,
    );
    await h.api('orders', ['orders:read'], { portal: { listed: true, description: 'Orders' } });
    a = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    b = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
  });
  after(async () => {
    await h.close();
    await receiver.stop();
  });

  const appOf = async (who: ConsoleBrowser, name: string): Promise<string> => {
    const app = await who.call('POST', '/portal/v1/apps', { name });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    return app.body.id;
  };
  const keyOf = async (who: ConsoleBrowser, appId: string): Promise<string> => {
    const key = await who.call('POST', `/portal/v1/apps/${appId}/keys`, {});
    assert.equal(key.status, 201, JSON.stringify(key.body));
    return key.body.id;
  };
  const addEndpoint = async (who: ConsoleBrowser, appId: string, events = ['key.created', 'key.revoked']) => {
    const made = await who.call('POST', `/portal/v1/apps/${appId}/webhooks`, { url: receiver.url, events });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    return made.body as { id: string; secret: string; appId: string };
  };

  test('an endpoint for my app gets events about that app’s keys only, signed with its secret (shown once); deliveries are listed; a test delivery is signed and audited', async () => {
    const [mine, other, theirs] = [await appOf(a, 'Shop'), await appOf(a, 'Other'), await appOf(b, 'B’s')];
    const endpoint = await addEndpoint(a, mine);
    assert.match(endpoint.secret, /^whsec_/);
    assert.equal(endpoint.appId, mine);
    receiver.secrets = [endpoint.secret];
    const key = await keyOf(a, mine);
    await keyOf(a, other);
    await keyOf(b, theirs);
    await a.call('POST', `/portal/v1/keys/${key}/revoke`, { reason: 'test' });
    await h.gh.webhooks!.deliverNow();

    const got = [...receiver.of('key.created'), ...receiver.of('key.revoked')];
    assert.deepEqual(got.map((r) => [r.payload.type, r.payload.data.key.id]).sort(), [
      ['key.created', key],
      ['key.revoked', key],
    ]);
    assert.ok(
      got.every((r) => r.verifiedWith[0] === true),
      'standardwebhooks verifies each with the endpoint’s secret',
    );
    const deliveries = await a.call('GET', `/portal/v1/webhooks/${endpoint.id}/deliveries`);
    assert.deepEqual(deliveries.body.items.map((d: any) => [d.eventType, d.status]).sort(), [
      ['key.created', 'delivered'],
      ['key.revoked', 'delivered'],
    ]);
    const shown = await a.call('GET', `/portal/v1/webhooks/${endpoint.id}`);
    assert.equal(shown.status, 200);
    assert.ok(!JSON.stringify(shown.body).includes(endpoint.secret), 'the secret is shown once');
    assert.deepEqual(
      (await a.call('GET', `/portal/v1/apps/${mine}/webhooks`)).body.items.map((w: any) => w.id),
      [endpoint.id],
    );

    const ping = await a.call('POST', `/portal/v1/webhooks/${endpoint.id}/test`);
    assert.equal(ping.body.delivered, true, JSON.stringify(ping.body));
    assert.deepEqual(receiver.of('webhook.test').at(-1)!.verifiedWith, [true]);
    const entries = (await h.admin('GET', `/audit?targetId=${endpoint.id}`)).body.items;
    assert.deepEqual(
      entries.map((e: any) => [e.action, e.actor]),
      [
        ['webhook.tested', `user:${a.sessionBody.user.id}`],
        ['webhook.created', `user:${a.sessionBody.user.id}`],
      ],
    );
    assert.ok(!JSON.stringify(entries).includes(endpoint.secret), 'no secret in the audit log');

    const rotated = await a.call('POST', `/portal/v1/webhooks/${endpoint.id}/rotate-secret`, { overlapSeconds: 0 });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    receiver.secrets = [endpoint.secret, rotated.body.secret];
    await a.call('POST', `/portal/v1/webhooks/${endpoint.id}/test`);
    assert.deepEqual(receiver.of('webhook.test').at(-1)!.verifiedWith, [false, true], 'signed with the new secret only, after an overlap of 0');
  });

  test('a developer’s endpoint may not reach private, loopback or link-local addresses, nor take events about no app; at most maxWebhooksPerApp', async () => {
    const appId = await appOf(a, 'Rules');
    const refused = async (body: Record<string, unknown>, field: string) => {
      const res = await a.call('POST', `/portal/v1/apps/${appId}/webhooks`, { url: receiver.url, events: ['key.created'], ...body });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.ok(
        res.body.errors.some((e: any) => e.field.endsWith(field)),
        `${field}: ${JSON.stringify(res.body.errors)}`,
      );
    };
    for (const url of [
      'https://10.0.0.1/in',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/in',
      'https://192.168.1.1/in',
      `http://127.0.0.1:${receiver.port}/hooks`,
    ])
      await refused({ url }, 'url');
    for (const event of ['login.failed_burst', 'signing_key.rotated', 'webhook.test']) await refused({ events: [event] }, 'events.0');
    const first = await addEndpoint(a, appId);
    expectProblem(await a.call('PATCH', `/portal/v1/webhooks/${first.id}`, { url: 'https://10.1.2.3/in' }), 400, 'VALIDATION_FAILED');
    assert.equal((await a.call('GET', `/portal/v1/webhooks/${first.id}`)).body.url, receiver.url, 'the refused change changed nothing');
    await addEndpoint(a, appId);
    expectProblem(await a.call('POST', `/portal/v1/apps/${appId}/webhooks`, { url: receiver.url, events: ['key.created'] }), 409, 'LIMIT_REACHED');
    expectProblem(await a.call('DELETE', `/portal/v1/apps/${appId}`), 409, 'CONFLICT');
    const settings = (await a.call('GET', '/portal/v1/settings')).body;
    assert.deepEqual([settings.webhooksEnabled, settings.maxWebhooksPerApp, settings.webhookEvents.includes('login.failed_burst')], [true, 2, false]);
  });

  test('a developer pauses and resumes their endpoint, but cannot enable one an operator disabled, also one they had paused (409)', async () => {
    // A developer of their own: a and b are at the operator's limit of apps by now.
    const c = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    const patchOf = (id: string) => (body: Record<string, unknown>) => c.call('PATCH', `/portal/v1/webhooks/${id}`, body);
    const endpoint = await addEndpoint(c, await appOf(c, 'Paused'));
    const patch = patchOf(endpoint.id);
    assert.equal((await patch({ enabled: false })).body.disabledReason, 'paused by the app’s developer');
    assert.equal((await patch({ enabled: true })).body.enabled, true, 'their own pause is theirs to end');
    const disabled = await h.admin('PATCH', `/webhooks/${endpoint.id}`, { enabled: false, disabledReason: 'sent to a host we do not allow' });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    expectProblem(await patch({ enabled: true }), 409, 'CONFLICT');
    assert.equal((await c.call('GET', `/portal/v1/webhooks/${endpoint.id}`)).body.enabled, false);
    assert.equal((await patch({ description: 'still mine to describe' })).status, 200, 'other changes are still theirs');
    assert.equal((await h.admin('PATCH', `/webhooks/${endpoint.id}`, { enabled: true })).body.enabled, true, 'the operator enables it again');

    // An operator who disables an endpoint its developer had paused keeps it disabled.
    const paused = await addEndpoint(c, await appOf(c, 'Paused, then stopped'));
    assert.equal((await patchOf(paused.id)({ enabled: false })).status, 200);
    assert.equal((await h.admin('PATCH', `/webhooks/${paused.id}`, { enabled: false, disabledReason: 'sent to a host we do not allow' })).status, 200);
    expectProblem(await patchOf(paused.id)({ enabled: true }), 409, 'CONFLICT');
  });

  test('an endpoint disabled before who disabled it was recorded is taken as an operator’s: its developer cannot enable it (409)', async () => {
    const app = await appOf(a, 'Old disable');
    const endpoint = await addEndpoint(a, app);
    const disabled = await h.admin('PATCH', `/webhooks/${endpoint.id}`, { enabled: false, disabledReason: 'sent to a host we do not allow' });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    // As a release before disabledBy stored it: the same disabled endpoint without the member.
    const store = h.gh.ctx.store.webhooks;
    const { disabledBy: _by, ...stored } = (await store.get(endpoint.id))!;
    assert.equal(
      await store.update(stored, {
        actor: 'system',
        requestId: null,
        action: 'webhook.updated',
        targetType: 'webhook',
        targetId: endpoint.id,
        before: null,
        after: null,
      }),
      true,
    );
    const patch = (body: Record<string, unknown>) => a.call('PATCH', `/portal/v1/webhooks/${endpoint.id}`, body);
    expectProblem(await patch({ enabled: true }), 409, 'CONFLICT');
    assert.equal((await patch({ enabled: false })).status, 200, 'pausing it again is harmless');
    expectProblem(await patch({ enabled: true }), 409, 'CONFLICT');
    assert.equal((await a.call('GET', `/portal/v1/webhooks/${endpoint.id}`)).body.enabled, false);
    assert.equal((await h.admin('PATCH', `/webhooks/${endpoint.id}`, { enabled: true })).body.enabled, true, 'an operator enables it again');
  });

  test('developer B can neither see nor change developer A’s endpoints, nor an operator’s: 404, and nothing changed', async () => {
    const appId = await appOf(a, 'A’s hooks');
    const endpoint = await addEndpoint(a, appId);
    const operators = await h.admin('POST', '/webhooks', { url: receiver.url, events: ['key.created'] });
    assert.equal(operators.status, 201, JSON.stringify(operators.body));
    const pings = receiver.of('webhook.test').length;
    const attempts: [ConsoleBrowser, string, string, unknown?][] = [];
    for (const id of [endpoint.id, operators.body.id])
      attempts.push(
        [b, 'GET', `/portal/v1/webhooks/${id}`],
        [b, 'PATCH', `/portal/v1/webhooks/${id}`, { url: 'https://127.0.0.1:1/stolen' }],
        [b, 'POST', `/portal/v1/webhooks/${id}/rotate-secret`, {}],
        [b, 'GET', `/portal/v1/webhooks/${id}/deliveries`],
        [b, 'POST', `/portal/v1/webhooks/${id}/test`],
        [b, 'DELETE', `/portal/v1/webhooks/${id}`],
      );
    attempts.push(
      [b, 'GET', `/portal/v1/apps/${appId}/webhooks`],
      [b, 'POST', `/portal/v1/apps/${appId}/webhooks`, { url: receiver.url, events: ['key.created'] }],
      [a, 'DELETE', `/portal/v1/webhooks/${operators.body.id}`],
    );
    for (const [who, method, path, body] of attempts) expectProblem(await who.call(method, path, body), 404, 'RESOURCE_NOT_FOUND');
    // A's own endpoint, from another origin (a cross-site request riding A's cookie): refused too.
    expectProblem(await a.call('DELETE', `/portal/v1/webhooks/${endpoint.id}`, undefined, { origin: 'https://evil.example' }), 403, 'CSRF_REJECTED');
    assert.equal(receiver.of('webhook.test').length, pings, 'no test was sent');
    for (const id of [endpoint.id, operators.body.id]) {
      const now = await h.admin('GET', `/webhooks/${id}`);
      assert.deepEqual([now.body.url, now.body.secrets.length], [receiver.url, 1]);
    }
    assert.deepEqual(
      (await a.call('GET', `/portal/v1/apps/${appId}/webhooks`)).body.items.map((w: any) => w.id),
      [endpoint.id],
    );
    await h.admin('DELETE', `/webhooks/${operators.body.id}`);
  });
});

describe('the private networks the operator allowed for their own endpoints are not allowed for developers’ endpoints', () => {
  let receiver: WebhookReceiver;
  let h: AuthHarness;
  let dev: ConsoleBrowser;
  before(async () => {
    receiver = await WebhookReceiver.start();
    h = await startConsoleHarness({}, `webhooks:\n  allowedNetworks: ['127.0.0.1/32']\n  caFile: ${receiver.caFile}\n  pollIntervalMs: 600000\n`);
    await h.api('orders', ['orders:read'], { portal: { listed: true, description: 'Orders' } });
    dev = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
  });
  after(async () => {
    await h.close();
    await receiver.stop();
  });

  test('an internal receiver the operator allowed takes the operator’s endpoint, and refuses a developer’s (made or moved there)', async () => {
    const operators = await h.admin('POST', '/webhooks', { url: receiver.url, events: ['key.created'] });
    assert.equal(operators.status, 201, JSON.stringify(operators.body));
    const app = await dev.call('POST', '/portal/v1/apps', { name: 'Shop' });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    expectProblem(await dev.call('POST', `/portal/v1/apps/${app.body.id}/webhooks`, { url: receiver.url, events: ['key.created'] }), 400, 'VALIDATION_FAILED');
    const listed = await dev.call('GET', `/portal/v1/apps/${app.body.id}/webhooks`);
    assert.deepEqual(listed.body.items, [], 'nothing was made');
  });
});
