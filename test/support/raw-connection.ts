import { connect, type Socket } from 'node:net';

/**
 * Sends raw bytes and returns everything the listener answers until it closes the connection, and
 * how long that took; `waitMs` is only the deadline for a listener that never closes it.
 */
export function raw(url: string, bytes: string, waitMs = 2000): Promise<{ text: string; closed: boolean; ms: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => (socket.destroy(), resolve({ text, closed: false, ms: performance.now() - started })), waitMs);
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => (clearTimeout(timer), resolve({ text, closed: true, ms: performance.now() - started })));
    socket.on('error', () => undefined);
    if (bytes !== '') socket.write(bytes);
  });
}

/**
 * Opens `cap` kept-alive connections to `url`, each answered once to `request` (an answer shows the
 * listener counts it), then one more, and returns what that one got (raw's answer) before closing them all.
 */
export async function beyondCap(url: string, cap: number, request: string): Promise<{ text: string; closed: boolean; ms: number }> {
  const { hostname, port } = new URL(url);
  const open: Socket[] = [];
  try {
    await Promise.all(
      Array.from(
        { length: cap },
        () =>
          new Promise<void>((resolve, reject) => {
            const socket = connect(Number(port), hostname, () => socket.write(request));
            open.push(socket);
            socket.once('data', (d) => (d.toString().startsWith('HTTP/1.1 ') ? resolve() : reject(new Error(d.toString()))));
            socket.once('close', () => reject(new Error('a connection within the cap was closed')));
            socket.on('error', () => undefined);
          }),
      ),
    );
    return await raw(url, request, 2000);
  } finally {
    for (const socket of open) socket.destroy();
  }
}
