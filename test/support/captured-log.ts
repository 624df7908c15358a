import { Writable } from 'node:stream';
import pino, { type Level } from 'pino';
import { LOG_OPTIONS } from '../../src/telemetry/log-redaction.ts';

/** A pino logger made as Gatehouse makes its own, whose lines are kept, parsed, for a test to read (what an operator's log would hold). */
export function capturedLog(level: Level): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level, ...LOG_OPTIONS }, stream), lines };
}
