import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { closeServer } from '../http/listening.ts';
import { InProgress } from './in-progress.ts';
import { createGatewayServer } from './server.ts';

test('settled answers true once the last request ends, false when some are left after the timeout', async () => {
  const inProgress = new InProgress();
  assert.equal(await inProgress.settled(10), true, 'none taken: settled at once');
  inProgress.begin();
  inProgress.begin();
  assert.equal(await inProgress.settled(20), false);
  const waiting = inProgress.settled(5_000);
  inProgress.end();
  inProgress.end();
  assert.equal(await waiting, true);
  assert.equal(inProgress.count, 0);
});

test('a request cut when the listener closes is in progress until its pipeline ends and it is observed', async () => {
  const inProgress = new InProgress();
  const observed: string[] = [];
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const server = createGatewayServer({
    inProgress,
    // A stage still waiting when the connection is cut: a store read, a Redis call.
    pipeline: [
      [
        'wait',
        () =>
          new Promise((resolve) => {
            arrived();
            setTimeout(() => resolve({ code: 'INTERNAL', detail: 'late' }), 50);
          }),
      ],
    ],
    observers: [(record) => observed.push(record.path)],
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const req = request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/cut' });
  const failed = new Promise((resolve) => req.on('error', resolve));
  req.end();
  await reached;
  await closeServer(server);
  await failed;
  assert.deepEqual(observed, [], 'the listener is closed, the pipeline still waits');
  assert.equal(inProgress.count, 1);
  assert.equal(await inProgress.settled(2_000), true);
  assert.deepEqual(observed, ['/cut']);
});
