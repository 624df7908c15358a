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

/** Stops listening and cuts every connection, busy or not (a shutdown's last step: answers have had their time). */
export function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
