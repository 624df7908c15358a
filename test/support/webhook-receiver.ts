import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { ensureDevCertificate, type DevCertificate } from '../../src/tls/dev-ca.ts';

/** One webhook request as the receiver got it, and which of the secrets it was given verify it. */
export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  payload: { type: string; timestamp: string; data: any };
  /** For each secret the receiver was told of (in order): whether `standardwebhooks` verified the request with it. */
  verifiedWith: boolean[];
  /** When it arrived (wall clock, ms): for the order of attempts, never asserted as a duration. */
  arrivedAt: number;
}

let certificate: Promise<DevCertificate> | undefined;

/** The development CA and a certificate for localhost and 127.0.0.1, made once per test process. */
export function receiverCertificate(): Promise<DevCertificate> {
  certificate ??= ensureDevCertificate(mkdtempSync(join(tmpdir(), 'gatehouse-webhook-ca-')));
  return certificate;
}

/**
 * A real HTTPS webhook receiver on loopback: it verifies every request with the `standardwebhooks`
 * package (an independent implementation of the specification) against the secrets it is given,
 * answers with `status`, and can be stopped and started again on the same port.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  secrets: string[] = [];
  status = 204;
  port = 0;
  #server: Server | null = null;
  #cert: DevCertificate;

  private constructor(cert: DevCertificate) {
    this.#cert = cert;
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(await receiverCertificate());
    await receiver.listen();
    return receiver;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}/hooks`;
  }

  get caFile(): string {
    return this.#cert.caFile;
  }

  async listen(): Promise<void> {
    const server = createServer({ key: readFileSync(this.#cert.keyFile), cert: readFileSync(this.#cert.certFile) }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const headers = {
          'webhook-id': String(req.headers['webhook-id']),
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        };
        const verifiedWith = this.secrets.map((secret) => {
          try {
            new Webhook(secret).verify(body, headers);
            return true;
          } catch (error) {
            if (process.env.DEBUG_WEBHOOKS) console.error(error);
            return false;
          }
        });
        this.received.push({
          ...{ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'] },
          body,
          payload: JSON.parse(body),
          verifiedWith,
          arrivedAt: Date.now(),
        });
        res.writeHead(this.status, { 'content-type': 'text/plain' });
        res.end(this.status === 204 ? undefined : `status ${this.status}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops open connections: the next attempt finds nobody (ECONNREFUSED). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  of(type: string): Received[] {
    return this.received.filter((r) => r.payload.type === type);
  }
}
