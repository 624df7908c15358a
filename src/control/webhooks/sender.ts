import { Agent, request } from 'undici';
import { guardedConnector, type Resolve } from './destination.ts';

/** How one POST went: the status (any answer), or why none came; never a header. */
export interface SendResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  responseExcerpt: string | null;
}

const EXCERPT_BYTES = 512;

/**
 * Sends webhook requests: one undici Agent whose connector checks every address it connects to
 * (destination.ts), a timeout on the whole exchange, redirects not followed (undici's `request`
 * follows none; a 3xx is a failed delivery, so a redirect cannot point a webhook somewhere else).
 */
export class WebhookSender {
  readonly #agent: Agent;
  readonly #timeoutMs: number;

  constructor(options: { ca?: string | undefined; timeoutMs: number; check: (ip: string) => string | null; resolve: Resolve }) {
    this.#timeoutMs = options.timeoutMs;
    this.#agent = new Agent({
      connect: guardedConnector(options),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 30_000,
      connections: 4,
    });
  }

  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Gatehouse-Webhooks/1', ...headers },
        body,
        dispatcher: this.#agent,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const excerpt = await readExcerpt(res.body);
      return { statusCode: res.statusCode, error: null, durationMs: took(), responseExcerpt: excerpt };
    } catch (error) {
      return { statusCode: null, error: describe(error), durationMs: took(), responseExcerpt: null };
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** The first bytes of an answer, as text; the rest is not read (the connection is not reused then). */
async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= EXCERPT_BYTES) break;
  }
  body.destroy();
  if (size === 0) return null;
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
}

/** An error as the delivery log shows it: its code and message, and its cause's (undici wraps them). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${typeof code === 'string' ? `${code} ` : ''}${error.message}${cause}`.slice(0, 500);
}
