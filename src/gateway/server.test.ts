import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { closeServer } from '../http/listening.ts';
import { SharedTableBusyError } from '../limits/shared-table.ts';
import { createGatewayServer } from './server.ts';

test('a limit that could not be counted (a shared stripe held too long) is a retryable 503 LIMITS_UNAVAILABLE, not a 500', async () => {
  const errors: unknown[] = [];
  const server = createGatewayServer({
    pipeline: [
      [
        'limits',
        () => {
          throw new SharedTableBusyError(3);
        },
      ],
    ],
    onError: (error) => errors.push(error),
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/anything`);
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get('retry-after'), '1');
    assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const body = (await answer.json()) as { code: string; detail: string };
    assert.equal(body.code, 'LIMITS_UNAVAILABLE');
    assert.doesNotMatch(body.detail, /stripe|worker/, 'the internal reason is logged, not sent');
    assert.equal(errors.length, 1, 'and it is reported');
  } finally {
    await closeServer(server, 1000);
  }
});
