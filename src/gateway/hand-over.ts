import type { Server } from 'node:http';

/**
 * Hands a listener's port over to others that share it (SO_REUSEPORT) and go on serving, cutting
 * nothing in flight: it stops accepting and closes the connections idle at that moment; resolves once
 * its last connection has closed. Call it after `closeAfterAnswers` (in-progress.ts), which makes each
 * other connection end after an answer that says `Connection: close` (RFC 9112 §9.6), so its client
 * reconnects to a listener still open: each answer whose head is not yet written, and each later
 * request's. An answer already streaming ends whole; its connection closes after its next answer or
 * the keep-alive timeout.
 *
 * Connections the kernel had queued for this listener but it had not yet accepted are reset when it
 * closes, unless the operator sets net.ipv4.tcp_migrate_req = 1 (Linux 5.14+; docs/deployment.md).
 */
export function handOver(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  // Since Node 19, close() also closes the connections idle at that moment.
  return new Promise((resolve) => server.close(() => resolve()));
}
