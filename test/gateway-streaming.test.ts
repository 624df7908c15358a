import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { listen, startHarness, type Harness } from './support/harness.ts';

/**
 * The upstream's answer as the client receives it through the gateway (gateway/stages/upstream-answer.ts):
 * whole when it is large and the client slow, cut when the upstream fails part-way, and the upstream
 * call ended when the client leaves.
 */
describe('gateway: answers stream from the upstream to the client', () => {
  let h: Harness;
  let upstream: Server;
  const CHUNK = Buffer.alloc(64 * 1024, 'g');
  const BIG_CHUNKS = 1024; // 64 MiB: far more than the sockets between hold, so backpressure must work
  let bigSent = 0;
  let endlessClosed: Promise<{ finished: boolean }>;
  let markEndlessClosed: (v: { finished: boolean }) => void;
  let hangArrived: Promise<void>;
  let markHangArrived: () => void;
  let hangClosed: Promise<string>;
  let markHangClosed: (v: string) => void;

  before(async () => {
    endlessClosed = new Promise((resolve) => (markEndlessClosed = resolve));
    hangArrived = new Promise((resolve) => (markHangArrived = resolve));
    hangClosed = new Promise((resolve) => (markHangClosed = resolve));
    upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(CHUNK.length * BIG_CHUNKS) });
        bigSent = 0;
        const more = (): void => {
          while (bigSent < BIG_CHUNKS) {
            bigSent++;
            const last = bigSent === BIG_CHUNKS;
            if (last) return void res.end(CHUNK);
            if (!res.write(CHUNK)) return void res.once('drain', more);
          }
        };
        return more();
      }
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('tick\n'), 5);
        res.on('close', () => {
          clearInterval(timer);
          markEndlessClosed({ finished: res.writableFinished });
        });
        return;
      }
      if (req.url === '/hang') {
        // Answers nothing: only the gateway's ending the call closes it.
        markHangArrived();
        res.on('close', () => markHangClosed('closed'));
        return;
      }
      if (req.url === '/hop') {
        // A field the upstream names in Connection is for the hop to us alone (RFC 9110 §7.6.1).
        res.writeHead(200, { connection: 'Keep-Alive, X-Upstream-Hop', 'x-upstream-hop': '1', 'x-kept': 'yes' });
        return void res.end('hop');
      }
      if (req.url === '/close') {
        res.writeHead(200, { connection: 'close', 'x-kept': 'yes' });
        return void res.end('closed');
      }
      if (req.url === '/broken') {
        res.writeHead(200, { 'content-length': '100000' });
        res.write(Buffer.alloc(1000, 'x'));
        return void setTimeout(() => res.socket?.destroy(), 20);
      }
      res.writeHead(404).end();
    });
    const url = await listen(upstream);
    h = await startHarness();
    const api = await h.admin('POST', '/apis', { name: 'files', listenPath: '/files', upstreamUrl: url, auth: { type: 'public' } });
    assert.equal(api.status, 201);
  });
  after(async () => {
    await h.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  const open = (path: string): Promise<IncomingMessage> => {
    const url = new URL(h.gh.gatewayUrl);
    return new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path }, resolve);
      req.on('error', reject);
      req.end();
    });
  };

  const body = async (res: IncomingMessage): Promise<string> => {
    let text = '';
    for await (const chunk of res) text += String(chunk);
    return text;
  };

  test("drops the upstream's hop-by-hop fields, including those its Connection field names", async () => {
    const hop = await open('/files/hop');
    assert.equal(await body(hop), 'hop');
    assert.equal(hop.headers['x-upstream-hop'], undefined);
    assert.equal(hop.headers['x-kept'], 'yes');
    // `Connection: close` names no field: the answer passes whole, and the client's connection is its own.
    const closed = await open('/files/close');
    assert.equal(await body(closed), 'closed');
    assert.equal(closed.headers['x-kept'], 'yes');
    assert.equal(closed.headers.connection, 'keep-alive');
  });

  test('a large answer reaches a slow client whole', async () => {
    const res = await open('/files/big');
    assert.equal(res.statusCode, 200);
    // Read nothing for a while: the gateway's buffers fill and the upstream must wait, not be lost.
    res.pause();
    await new Promise((r) => setTimeout(r, 300));
    const sentThen = bigSent;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bigSent, sentThen, 'the upstream went on sending while nothing could take it');
    assert.ok(bigSent < BIG_CHUNKS);
    const expected = createHash('sha256');
    for (let i = 0; i < BIG_CHUNKS; i++) expected.update(CHUNK);
    const got = createHash('sha256');
    let bytes = 0;
    for await (const chunk of res) {
      got.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    assert.equal(bytes, CHUNK.length * BIG_CHUNKS);
    assert.equal(got.digest('hex'), expected.digest('hex'));
  });

  test('an upstream that fails part-way cuts the client off: a partial answer never looks whole', async () => {
    const res = await open('/files/broken');
    assert.equal(res.statusCode, 200);
    const outcome = await new Promise<string>((resolve) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve(`ended after ${bytes} bytes`));
      res.on('error', () => resolve('cut'));
      res.on('aborted', () => resolve('cut'));
    });
    assert.equal(outcome, 'cut');
  });

  test('a client that leaves part-way ends the upstream call', async () => {
    const res = await open('/files/endless');
    assert.equal(res.statusCode, 200);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    const closed = await Promise.race([endlessClosed, new Promise((r) => setTimeout(() => r('still open'), 5000))]);
    assert.deepEqual(closed, { finished: false });
  });

  test('a client that leaves before the answer has begun ends the upstream call too', async () => {
    const url = new URL(h.gh.gatewayUrl);
    const req = request({ host: url.hostname, port: url.port, path: '/files/hang' });
    req.on('error', () => {});
    req.end();
    await hangArrived;
    req.destroy();
    const closed = await Promise.race([hangClosed, new Promise((r) => setTimeout(() => r('still open'), 5000))]);
    assert.equal(closed, 'closed');
  });
});
