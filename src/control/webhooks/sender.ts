import type { Agent, request } from 'undici';
import type { WebhookEndpoint } from '../../domain/webhooks.ts';
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
  readonly #options: { ca?: string | undefined; timeoutMs: number; check: (ip: string) => string | null; resolve: Resolve };
  /** undici's root (all of it: 109 modules) is loaded at the first send, not on the way to serving the gateway. */
  #client: Promise<{ agent: Agent; request: typeof request }> | null = null;

  constructor(options: { ca?: string | undefined; timeoutMs: number; check: (ip: string) => string | null; resolve: Resolve }) {
    this.#options = options;
  }

  #connected(): Promise<{ agent: Agent; request: typeof request }> {
    return (this.#client ??= import('undici').then(({ Agent, request, buildConnector }) => ({
      agent: new Agent({
        connect: guardedConnector(buildConnector, this.#options),
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
        keepAliveTimeout: 30_000,
        connections: 4,
      }),
      request,
    })));
  }

  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    try {
      const { agent, request } = await this.#connected();
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Gatehouse-Webhooks/1', ...headers },
        body,
        dispatcher: agent,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      const excerpt = await readExcerpt(res.body);
      return { statusCode: res.statusCode, error: null, durationMs: took(), responseExcerpt: excerpt };
    } catch (error) {
      return { statusCode: null, error: describe(error), durationMs: took(), responseExcerpt: null };
    }
  }

  async close(): Promise<void> {
    if (this.#client) await (await this.#client).agent.close();
  }
}

/**
 * The sender for each endpoint: an operator's with the private addresses the operator allowed
 * (`webhooks.allowedNetworks`), a developer's (made in the portal, scoped to an app) with those allowed
 * for developers (`webhooks.developerAllowedNetworks`, none by default). The operator's allowance is for
 * their own internal receivers; a developer given it could aim deliveries and test sends (which show
 * the answer's first bytes) at them.
 */
export class EndpointSenders {
  readonly #operator: WebhookSender;
  readonly #developer: WebhookSender;

  constructor(operator: WebhookSender, developer: WebhookSender) {
    this.#operator = operator;
    this.#developer = developer;
  }

  /** The sender, and so the address check, for an endpoint; `appId`: a developer's (also one being made). */
  for(endpoint: Pick<WebhookEndpoint, 'appId'>): WebhookSender {
    return endpoint.appId ? this.#developer : this.#operator;
  }

  async close(): Promise<void> {
    await Promise.all([this.#operator.close(), this.#developer.close()]);
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
