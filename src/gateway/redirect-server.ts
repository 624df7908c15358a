import { createServer, type Server } from 'node:http';
import { unmapIpv4 } from '../domain/ip-allowlist.ts';
import { problem, PROBLEM_CONTENT_TYPE } from '../http/problem.ts';
import { carriesCredentials, presentedKey } from './stages/transport.ts';

/**
 * The plain-HTTP listener beside the HTTPS gateway: it only sends clients to HTTPS (308, so the
 * method and body are kept), except that a request carrying credentials is refused and not
 * redirected, since following the redirect would send them again; an API key in it is reported.
 */
export function createRedirectServer(httpsPortOf: () => number, onExposed: (secret: string, ip: string) => void): Server {
  return createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    if (carriesCredentials(req.headers)) {
      const key = presentedKey(req.headers);
      if (key) onExposed(key, unmapIpv4(req.socket.remoteAddress ?? ''));
      const body = JSON.stringify(problem('CREDENTIALS_OVER_HTTP', 'credentials must be sent over HTTPS; this one crossed the network in clear text: rotate it', null));
      res.writeHead(403, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', connection: 'close' });
      return void res.end(body);
    }
    const httpsPort = httpsPortOf();
    const host = (req.headers.host ?? 'localhost').replace(/:\d+$/, '').replace(/[^\w.\-[\]:]/g, '');
    res.writeHead(308, { location: `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${req.url ?? '/'}`, 'content-length': 0, connection: 'close' });
    res.end();
  });
}
