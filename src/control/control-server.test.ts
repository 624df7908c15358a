import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { isLoopback } from '../domain/ip-allowlist.ts';
import { createControlServer } from './control-server.ts';

/** Runs one request through the control server's handler as if it came from `peer`. */
function request(peer: string, method: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; adminCalled: boolean }> {
  let adminCalled = false;
  const server = createControlServer({
    admin: (_req, res) => void ((adminCalled = true), res.end('admin')),
    authorization: () => null,
    health: () => ({ ready: true, components: {} }),
  });
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: peer });
  const req = new IncomingMessage(socket);
  req.method = method;
  req.url = '/admin/v1/keys';
  req.headers = headers;
  const res = new ServerResponse(req);
  let body = '';
  res.write = ((chunk: string) => ((body += chunk), true)) as never;
  return new Promise((resolve) => {
    res.end = ((chunk?: string) => (resolve({ status: res.statusCode, body: body + (chunk ?? ''), adminCalled }), res)) as never;
    server.emit('request', req, res);
  });
}

test('without TLS, the control plane refuses credentials from other machines and serves this one', async () => {
  const remote = await request('192.0.2.9', 'GET', { authorization: 'Bearer gka_live_x' });
  assert.equal(remote.status, 403);
  assert.match(remote.body, /CREDENTIALS_OVER_HTTP/);
  assert.equal(remote.adminCalled, false);
  assert.equal((await request('192.0.2.9', 'POST')).status, 403, 'a form or JSON body may carry a secret too');
  assert.equal((await request('127.0.0.1', 'GET', { authorization: 'Bearer gka_live_x' })).adminCalled, true);
  assert.equal((await request('::ffff:127.0.0.1', 'POST')).adminCalled, true);
});

test('loopback is 127.0.0.0/8 and ::1, also IPv4-mapped', () => {
  assert.equal(isLoopback('127.0.0.1'), true);
  assert.equal(isLoopback('127.8.9.10'), true);
  assert.equal(isLoopback('::1'), true);
  assert.equal(isLoopback('::ffff:127.0.0.1'), true);
  assert.equal(isLoopback('192.0.2.9'), false);
  assert.equal(isLoopback('::ffff:192.0.2.9'), false);
});
