import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A benchmark child's server: listens on an ephemeral loopback port, reports its URL, stops on request. */
export function serveChild(server: Server, beforeExit: () => Promise<unknown> = async () => {}): void {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.send!({ type: 'ready', url: `http://127.0.0.1:${port}` });
  });
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'stop') return;
    server.closeAllConnections();
    server.close(() => void beforeExit().finally(() => process.exit(0)));
  });
}
