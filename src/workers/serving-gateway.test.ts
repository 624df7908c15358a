import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import type { Config } from '../config/load.ts';
import type { DataPlane } from '../data-plane.ts';
import { closeAfterAnswers, InProgress } from '../gateway/in-progress.ts';
import { Health } from '../telemetry/health.ts';
import { mainThreadGateway } from './serving-gateway.ts';

/**
 * The main thread's gateway around a server whose /streaming answer writes its head and waits for
 * `release`, stopped as the data plane stops (closeAfterAnswers, then the listener's close).
 */
function streamingGateway(graceSeconds: number) {
  let release!: () => void;
  let arrive!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const inProgress = new InProgress();
  const server = createServer((_req, res) => {
    inProgress.begin(res);
    res.once('close', () => inProgress.end(res));
    res.writeHead(200, { 'content-length': 4 }).flushHeaders();
    arrive();
    void released.then(() => res.end('main'));
  });
  const plane = {
    gateway: server,
    outcomes: new Map<string, number>(),
    stop: async (closeListener: () => Promise<void>) => {
      closeAfterAnswers(server, inProgress);
      await closeListener();
    },
  } as unknown as DataPlane;
  const config = { gateway: { tls: null, host: '127.0.0.1', port: 0, shutdownGraceSeconds: graceSeconds } } as unknown as Config;
  return { main: mainThreadGateway(config, pino({ level: 'silent' }), new Health(pino({ level: 'silent' }), Date.now), plane, true), release, arrived };
}

/** Sends one request and reads the connection until it closes: what the client got. */
async function streamedRequest(port: number): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET /streaming HTTP/1.1\r\nhost: gatehouse.test\r\n\r\n');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  await once(socket, 'close');
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

test('a stop during the hand-over lets an answer in progress finish within the grace, as any stop does', async () => {
  const { main, release, arrived } = streamingGateway(10);
  await main.listen('http');
  const received = streamedRequest(main.port()!);
  await arrived;
  void main.handOver();
  const stopped = main.close();
  setTimeout(release, 100);
  assert.equal(await received, 'main', 'the answer arrived whole');
  await stopped;
});

test('a stop during the hand-over cuts what is still busy once the grace is over', async () => {
  const { main, arrived } = streamingGateway(0.2);
  await main.listen('http');
  const received = streamedRequest(main.port()!);
  await arrived;
  void main.handOver();
  await main.close();
  assert.equal(await received, '', 'cut: the body never came');
});
