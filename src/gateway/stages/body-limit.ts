import { Transform, type TransformCallback } from 'node:stream';
import type { Stage } from '../exchange.ts';

export const BODY_TOO_LARGE = 'GATEHOUSE_BODY_TOO_LARGE';

/** A declared body over the limit is refused before anything is forwarded. */
export function bodyLimitStage(maxBytes: number): Stage {
  if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new Error('maxBytes must be a non-negative integer');
  return (exchange) => {
    const declared = exchange.req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) return { code: 'BODY_TOO_LARGE', detail: `the body may be at most ${maxBytes} bytes` };
    return undefined;
  };
}

/** For chunked bodies, whose size is known only as they arrive: fails the stream past the limit. `onBytes`: the count so far. */
export function limitBody(maxBytes: number, onBytes?: (seen: number) => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      seen += chunk.length;
      onBytes?.(seen);
      if (seen > maxBytes) return done(Object.assign(new Error(`body over ${maxBytes} bytes`), { code: BODY_TOO_LARGE }));
      done(null, chunk);
    },
  });
}
