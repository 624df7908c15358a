import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens and answers the URL it listens at. `reusePort` (SO_REUSEPORT): other listeners may bind the
 * same port, and the kernel spreads connections over them (the gateway's threads).
 */
export function listen(server: Server, host: string, port: number, scheme: 'http' | 'https' = 'http', reusePort = false): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, reusePort }, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`${scheme}://${shown}:${address.port}`);
    });
  });
}

/** How often a closing server's connections are looked at for one that has become idle. */
const IDLE_SWEEP_MS = 50;

/**
 * Stops listening and closes every connection: at once without `graceMs`; with it, each as soon as it
 * is idle (its answer over), and whatever is still busy after `graceMs` is cut. A keep-alive
 * connection is not left open for its idle timeout once its answer is over.
 */
export function closeServer(server: Server, graceMs = 0): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    let stopDraining = (): void => {};
    // Since Node 19, close() also closes the connections idle at that moment.
    server.close(() => {
      stopDraining();
      resolve();
    });
    if (graceMs <= 0) return server.closeAllConnections();
    stopDraining = drainConnections(server, graceMs);
  });
}

/**
 * The grace of a server that has stopped listening: each connection is closed as soon as it is idle,
 * and whatever is still busy after `graceMs` is cut. Answers the function that ends it (call it once
 * the server has closed).
 */
export function drainConnections(server: Server, graceMs: number): () => void {
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  const cut = setTimeout(() => server.closeAllConnections(), graceMs);
  return () => {
    clearInterval(sweep);
    clearTimeout(cut);
  };
}
