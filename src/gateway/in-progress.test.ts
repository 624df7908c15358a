import assert from 'node:assert/strict';
import { request, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { closeServer } from '../http/listening.ts';
import { closeAfterAnswers, InProgress } from './in-progress.ts';
import { createGatewayServer } from './server.ts';

test('settled answers true once the last request ends, false when some are left after the timeout', async () => {
  const inProgress = new InProgress();
  const [a, b] = [{}, {}] as ServerResponse[];
  assert.equal(await inProgress.settled(10), true, 'none taken: settled at once');
  inProgress.begin(a!);
  inProgress.begin(b!);
  assert.equal(await inProgress.settled(20), false);
  const waiting = inProgress.settled(5_000);
  inProgress.end(a!);
  inProgress.end(b!);
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

test('once a stop begins, the answer in progress ends its connection and nothing more is taken on it', async () => {
  const inProgress = new InProgress();
  const served: string[] = [];
  const server = createGatewayServer({
    inProgress,
    pipeline: [
      [
        'answer',
        (exchange) =>
          new Promise((resolve) => {
            served.push(exchange.path);
            setTimeout(() => {
              exchange.res.end('ok');
              resolve({ answered: 'OK' });
            }, 200);
          }),
      ],
    ],
    observers: [() => {}],
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString();
    // A keep-alive client (a load balancer's pool) sends its next request once an answer is in.
    if (received.includes('\r\n\r\nok')) socket.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.on('close', resolve));
  socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
  while (served.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  closeAfterAnswers(server, inProgress);
  await Promise.all([closeServer(server, 5_000), closed]);
  assert.match(received.split('\r\n\r\n')[0]!, /connection: close/i);
  assert.deepEqual(served, ['/first']);
  assert.equal(await inProgress.settled(1_000), true);
});

test('requests that came and went before two scavenges are not promoted to the old generation by the tracking', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void;
  const inProgress = new InProgress();
  const oldSpaceUsed = (): number => getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')!.space_used_size;
  const inFlight: ServerResponse[] = [];
  gc({ type: 'major' });
  const before = oldSpaceUsed();
  // 20,000 requests of 1 KB each, 50 in flight at a time, a scavenge every 200: each lives 50
  // requests, so none outlives two scavenges. What is promoted is what the tracking itself keeps alive.
  for (let i = 0; i < 20_000; i++) {
    const res = { body: new Array<number>(128).fill(i) } as unknown as ServerResponse;
    inProgress.begin(res);
    inFlight.push(res);
    if (inFlight.length > 50) inProgress.end(inFlight.shift()!);
    if (i % 200 === 0) gc({ type: 'minor' });
  }
  const promoted = oldSpaceUsed() - before;
  assert.ok(promoted < 2_000_000, `${(promoted / 1e6).toFixed(1)} MB promoted for 20 MB of short-lived requests`);
});
