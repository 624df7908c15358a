import pino, { type LoggerOptions } from 'pino';
import { withoutSecrets } from '../domain/secret-redaction.ts';

/**
 * Paths pino replaces with "[Redacted]" in every line, on the main thread and in gateway workers.
 * Secrets never reach the log by design; these catch what a library puts on an object we log:
 * - `secret`, `key`, `authorization` fields of anything logged;
 * - `command.args` of an error: ioredis attaches the failed command with its arguments, and those of
 *   its handshake (HELLO 3 AUTH <user> <password>, retried at every reconnect) hold the Redis password.
 */
export const LOG_REDACT = ['*.secret', '*.key', '*.authorization', '*.command.args'];

const CENSOR = '[Redacted]';
const clean = (text: string): string => withoutSecrets(text, CENSOR);

/**
 * pino's err serializer, with the text of the error passed through the secret-shape rule: a library's
 * message often quotes its input (a URL with `?api_key=`, a header with a JWT), which no field name
 * tells. Its cause's message and stack are in the serialized message and stack already.
 */
function redactedError(err: unknown): unknown {
  if (typeof err === 'string') return clean(err);
  const serialized: unknown = pino.stdSerializers.err(err as Error);
  if (serialized === err || serialized === null || typeof serialized !== 'object') return serialized;
  return cleanSerialized(serialized as Record<string, unknown>);
}

/** A serialized error (a fresh object: the error's own objects are never changed) with its strings cleaned. */
function cleanSerialized(serialized: Record<string, unknown>): Record<string, unknown> {
  for (const [name, value] of Object.entries(serialized)) {
    if (typeof value === 'string') serialized[name] = clean(value);
    else if (name === 'aggregateErrors' && Array.isArray(value)) {
      serialized[name] = value.map((e: unknown) => (e !== null && typeof e === 'object' ? cleanSerialized(e as Record<string, unknown>) : e));
    }
  }
  return serialized;
}

/**
 * What both loggers (gatehouse.ts, workers/gateway-worker.ts) are made with. Beside the field names
 * above, every message and every error's text passes through the shared secret-shape rule
 * (domain/secret-redaction.ts) before it is formatted, and the finished line once more, for what sits in
 * any other field. A line with nothing like a secret costs two regular-expression tests per string.
 */
export const LOG_OPTIONS = {
  redact: LOG_REDACT,
  serializers: { err: redactedError },
  hooks: {
    logMethod(this: pino.Logger, args: unknown[], method: (...args: unknown[]) => void): void {
      for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (typeof arg === 'string') args[i] = clean(arg);
      }
      method.apply(this, args);
    },
    // The line is JSON: the shape's characters (letters, digits, `_`, `.`, `-`) need no escaping and
    // are never a quote or separator, so a replacement stays inside the string it was found in.
    streamWrite: clean,
  },
} satisfies LoggerOptions;
