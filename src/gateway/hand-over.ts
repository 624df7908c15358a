import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Stops the listener, cutting nothing in flight; resolves once its last connection has closed. */
export type HandOver = () => Promise<void>;

/**
 * Prepares a listener to hand its port over to others that share it (SO_REUSEPORT) and go on serving.
 * Set up before it listens: until the hand-over it keeps the answers in progress (a Set entry per
 * request; the main thread serves only while gateway workers start). The hand-over stops accepting,
 * closes the connections idle at that moment, and ends every other one after an answer that says
 * `Connection: close` (RFC 9112 §9.6), so its client reconnects to a listener still open: each answer
 * whose head is not yet written, and each later request's. An answer already streaming ends whole; its
 * connection closes after its next answer or the keep-alive timeout.
 *
 * Connections the kernel had queued for this listener but it had not yet accepted are reset when it
 * closes, unless the operator sets net.ipv4.tcp_migrate_req = 1 (Linux 5.14+; docs/deployment.md).
 */
export function prepareHandOver(server: Server): HandOver {
  const inProgress = new Set<ServerResponse>();
  let handingOver = false;
  const untrack = function (this: ServerResponse): void {
    inProgress.delete(this);
  };
  // Before the gateway's own listener, which may answer (and write the head) synchronously.
  const onRequest = (_req: IncomingMessage, res: ServerResponse): void => {
    if (handingOver) res.shouldKeepAlive = false;
    else inProgress.add(res.once('close', untrack));
  };
  server.prependListener('request', onRequest);
  return () => {
    handingOver = true;
    for (const res of inProgress) if (!res.headersSent) res.shouldKeepAlive = false;
    inProgress.clear();
    if (!server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      // Since Node 19, close() also closes the connections idle at that moment.
      server.close(() => {
        server.off('request', onRequest);
        resolve();
      });
    });
  };
}
