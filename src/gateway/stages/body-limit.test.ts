import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { denialOf, exchangeFor } from '../test-exchange.ts';
import { BODY_TOO_LARGE, bodyLimitStage, limitBody } from './body-limit.ts';

const run = async (headers: [string, string][], maxBytes = 1000) => denialOf(bodyLimitStage(maxBytes)(await exchangeFor({ method: 'POST', headers })));

describe('body-limit stage', () => {
  test('a declared body up to the limit passes; one byte more is BODY_TOO_LARGE', async () => {
    assert.equal(await run([['Content-Length', '1000']]), undefined);
    const denial = await run([['Content-Length', '1001']]);
    assert.equal(denial?.code, 'BODY_TOO_LARGE');
    assert.match(denial?.detail ?? '', /1000 bytes/);
  });

  test('a limit of 0 refuses any declared body', async () => {
    assert.equal(await run([['Content-Length', '0']], 0), undefined);
    assert.equal((await run([['Content-Length', '1']], 0))?.code, 'BODY_TOO_LARGE');
  });

  test('a body without a declared length passes here: it is counted as it is forwarded', async () => {
    assert.equal(await run([['Transfer-Encoding', 'chunked']]), undefined);
  });

  test('a limit that is not a whole number of bytes is refused when the stage is built', () => {
    assert.throws(() => bodyLimitStage(-1));
    assert.throws(() => bodyLimitStage(1.5));
    assert.throws(() => bodyLimitStage(Number.NaN));
  });
});

describe('limitBody (chunked bodies)', () => {
  const drain = (chunks: string[], maxBytes: number) => {
    let received = 0;
    return pipeline(
      Readable.from(chunks.map((c) => Buffer.from(c))),
      limitBody(maxBytes),
      new Writable({ write: (chunk: Buffer, _e, done) => ((received += chunk.length), done()) }),
    ).then(() => received);
  };

  test('passes a body up to the limit through unchanged', async () => {
    assert.equal(await drain(['x'.repeat(600), 'x'.repeat(400)], 1000), 1000);
  });

  test('fails the stream at the chunk that crosses the limit, with a code the forward stage recognises', async () => {
    await assert.rejects(drain(['x'.repeat(600), 'x'.repeat(401)], 1000), (error: Error & { code?: string }) => error.code === BODY_TOO_LARGE);
  });
});
