import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { handOver } from './hand-over.ts';
import { closeAfterAnswers, InProgress } from './in-progress.ts';

/**
 * A server that answers each request with its own name, its answers in progress tracked as the
 * gateway's are; its hand-over is the data plane's (closeAfterAnswers, then handOver). /slow and
 * /streaming (`arrived` once one has) wait until `release` is called, /streaming with its head already written.
 */
function namedServer(name: string) {
  let release!: () => void;
  let arrive!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const inProgress = new InProgress();
  const server = createServer((req, res) => {
    inProgress.begin(res);
    res.once('close', () => inProgress.end(res));
    if (req.url === '/') return void res.end(name);
    if (req.url === '/streaming') res.writeHead(200, { 'content-length': name.length }).flushHeaders();
    arrive();
    void released.then(() => res.end(name));
  });
  const handOverNow = (): Promise<void> => {
    closeAfterAnswers(server, inProgress);
    return handOver(server);
  };
  return { server, release, arrived, handOver: handOverNow };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, reusePort: true }, () => resolve((server.address() as AddressInfo).port));
  });
}

/** One raw HTTP/1.1 exchange on `socket`, which stays open (keep-alive unless the server says otherwise). */
async function exchange(socket: Socket, path: string): Promise<{ head: string; body: string }> {
  socket.write(`GET ${path} HTTP/1.1\r\nhost: gatehouse.test\r\n\r\n`);
  let text = '';
  for (;;) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    text += chunk.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end === -1) continue;
    const length = Number(/content-length: (\d+)/i.exec(text)![1]);
    if (text.length >= end + 4 + length) return { head: text.slice(0, end), body: text.slice(end + 4, end + 4 + length) };
  }
}

async function connected(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

test('a listener handed over ends every connection after its current answer, cutting none, and accepts no more', async () => {
  const { server, release, arrived, handOver } = namedServer('main');
  const port = await listen(server, 0);
  const idle = await connected(port);
  assert.match((await exchange(idle, '/')).head, /keep-alive/i);
  const busy = await connected(port);
  const answer = exchange(busy, '/slow');
  await arrived;

  let handedOver = false;
  const done = handOver().then(() => (handedOver = true));
  await once(idle, 'close');
  assert.equal(handedOver, false, 'the request in flight is still being answered');
  await assert.rejects(connected(port), { code: 'ECONNREFUSED' });

  release();
  const { head, body } = await answer;
  assert.equal(body, 'main');
  assert.match(head, /^connection: close$/im);
  await once(busy, 'close');
  await done;
});

test('connections made after a hand-over reach the listener that shares the port', async () => {
  const main = namedServer('main');
  const worker = namedServer('worker');
  const port = await listen(main.server, 0);
  await listen(worker.server, port);
  await main.handOver();
  for (let i = 0; i < 20; i++) {
    const socket = await connected(port);
    assert.equal((await exchange(socket, '/')).body, 'worker');
    socket.destroy();
  }
  worker.server.close();
});

test('an answer already streaming when the hand-over begins ends whole; the next answer on its connection closes it', async () => {
  const { server, release, arrived, handOver } = namedServer('main');
  const port = await listen(server, 0);
  const socket = await connected(port);
  const streaming = exchange(socket, '/streaming');
  await arrived;
  const done = handOver();
  release();
  const first = await streaming;
  assert.equal(first.body, 'main');
  const next = await exchange(socket, '/');
  assert.equal(next.body, 'main');
  assert.match(next.head, /^connection: close$/im);
  await once(socket, 'close');
  await done;
});
