import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { problem, PROBLEM_CONTENT_TYPE, problemAnswer, writeProblem } from './problem.ts';

/** Answers one request over a real socket with `write`, and returns what the client got. */
async function served(write: (res: ServerResponse) => void): Promise<Response> {
  const server = createServer((_req, res) => write(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.clone().arrayBuffer();
    return res;
  } finally {
    server.close();
  }
}

describe('problem+json answers (RFC 9457)', () => {
  test('writeProblem sends the status, content type, exact byte length, no-store and the problem as JSON', async () => {
    const body = problem('RATE_LIMITED', 'slow down, café', 'req-1');
    const res = await served((r) => writeProblem(r, body));
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('content-type'), PROBLEM_CONTENT_TYPE);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(JSON.stringify(body))));
    assert.deepEqual(await res.json(), {
      type: 'urn:gatehouse:problem:rate-limited',
      title: 'Rate limit exceeded',
      status: 429,
      detail: 'slow down, café',
      code: 'RATE_LIMITED',
      requestId: 'req-1',
    });
  });

  test('writeProblem adds the extra header fields a caller passes, and keeps fields set on the response before', async () => {
    const res = await served((r) => {
      r.setHeader('X-Request-Id', 'abc');
      writeProblem(r, problem('VALIDATION_FAILED', 'bad', null, { path: 'not a path' }), { connection: 'close', 'retry-after': '3' });
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-request-id'), 'abc');
    assert.equal(res.headers.get('retry-after'), '3');
    assert.equal(res.headers.get('connection'), 'close');
    assert.deepEqual(((await res.json()) as { errors: unknown }).errors, [{ field: 'path', message: 'not a path' }]);
  });

  test('problemAnswer is the one serialisation: the status, the JSON text and the content type, for any HTTP library', () => {
    const body = problem('STORAGE_UNAVAILABLE', 'retry later', null);
    const answer = problemAnswer(body);
    assert.equal(answer.status, 503);
    assert.deepEqual(JSON.parse(answer.body), body);
    assert.deepEqual(answer.headers, { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' });
  });
});
