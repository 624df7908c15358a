import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/** The first byte of every TLS connection: a handshake record (RFC 8446 §5.1, content type 22), the ClientHello. */
const TLS_HANDSHAKE = 0x16;
/** An HTTP/1 request line starts with its method: an upper-case ASCII letter (GET, POST, ...). */
const isMethodLetter = (byte: number): boolean => byte >= 0x41 && byte <= 0x5a;

/**
 * Lets an HTTPS server tell a plain-HTTP request sent to its port (an `http://` URL) from TLS, as
 * nginx does (its 497), instead of the TLS layer dropping it unanswered: the connection's first byte
 * decides. 0x16 (a handshake record) and anything else not a method letter go to TLS exactly as
 * before (Node's own 'connection' listener, unchanged; the byte read is handed back to it); an upper-case
 * letter goes to `plain`, an http.Server of its own that never listens, whose handler answers plain
 * HTTP (and must take no credential from it). Nothing is added per request, on either server.
 *
 * What `server` is to its users does not change: the same object, certificate reload
 * (setSecureContext), maxConnections (counted at accept, plain connections included), headers and
 * request timeouts, close(), closeIdleConnections() and closeAllConnections() (which now close
 * `plain`'s connections too), listening with SO_REUSEPORT. `plain` gets its connection tracking (so
 * its own headers and request timeouts) when `server` starts listening, and loses it when `server` closes.
 *
 * Before its first byte a connection is in neither server: it is cut after `firstByteMs` (the TLS
 * handshake timeout, whose timer starts only once TLS has the connection), as a client that connects
 * and sends nothing always was. Per connection this costs one 'data', one 'error' and one 'timeout'
 * listener (shared functions, no closure per connection) and a socket timeout, until the first byte.
 */
export function answerPlainHttp(server: HttpsServer, plain: Server, firstByteMs: number): void {
  const listeners = server.listeners('connection');
  if (listeners.length !== 1) throw new Error("answerPlainHttp: the HTTPS server must have only Node's TLS 'connection' listener");
  const toTls = listeners[0] as (this: HttpsServer, socket: Socket) => void;
  server.off('connection', toTls);

  const cut = function (this: Socket): void {
    this.destroy();
  };
  const firstChunk = function (this: Socket, chunk: Buffer): void {
    this.off('data', firstChunk);
    this.pause();
    this.unshift(chunk);
    this.setTimeout(0);
    this.off('timeout', cut);
    this.off('error', cut);
    const first = chunk[0]!;
    if (first !== TLS_HANDSHAKE && isMethodLetter(first)) {
      plain.emit('connection', this);
      // Node's HTTP parser reads once the socket flows; the chunk handed back comes first.
      this.resume();
    } else {
      // TLS (0x16), or bytes that are neither TLS nor HTTP: TLS takes the connection as it always
      // did, and reads the chunk handed back first (TLSSocket's initRead).
      toTls.call(server, this);
    }
  };
  server.on('connection', (socket: Socket) => {
    socket.on('error', cut);
    socket.on('timeout', cut);
    socket.setTimeout(firstByteMs);
    socket.on('data', firstChunk);
  });

  // `plain` never listens: it tracks its connections (and checks their timeouts) while `server` does.
  server.on('listening', () => plain.emit('listening'));
  server.on('close', () => plain.close());
  const closeIdle = server.closeIdleConnections;
  const closeAll = server.closeAllConnections;
  server.closeIdleConnections = function (this: HttpsServer): void {
    closeIdle.call(this);
    plain.closeIdleConnections();
  };
  server.closeAllConnections = function (this: HttpsServer): void {
    closeAll.call(this);
    plain.closeAllConnections();
  };
}
