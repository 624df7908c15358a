import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeServer, listen } from '../http/listening.ts';
import { startupReadiness } from '../telemetry/health.ts';
import { createControlServer } from './control-server.ts';

// The control listener opens before the authorization server and the web app run (the issuer
// defaults to its URL). Meanwhile their paths must say "starting, retry", not "no master key", and
// readiness must keep a load balancer away.
test('while the node starts, the authorization server and web app paths answer 503 STARTING with Retry-After, then as configured', async () => {
  let starting = true;
  const server = createControlServer({
    admin: null,
    authorization: () => null,
    health: () => startupReadiness({ ready: true, components: {} }, !starting),
    starting: () => starting,
  });
  const url = await listen(server, '127.0.0.1', 0);
  try {
    for (const path of ['/.well-known/openid-configuration', '/token', '/bff/session', '/portal/v1/apps']) {
      const res = await fetch(url + path);
      assert.equal(res.status, 503, path);
      assert.equal(res.headers.get('retry-after'), '1', path);
      assert.equal(((await res.json()) as { code: string }).code, 'STARTING', path);
    }
    const ready = await fetch(url + '/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: 'not ready', ready: false, components: {}, starting: true });

    starting = false;
    const off = await fetch(url + '/.well-known/openid-configuration');
    assert.equal(off.status, 404, 'started without a master key: the authorization server is off');
    assert.match(((await off.json()) as { detail: string }).detail, /no master key/);
    assert.equal((await fetch(url + '/readyz')).status, 200);
  } finally {
    await closeServer(server);
  }
});
