import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

const header = (headers: IncomingHttpHeaders, name: string): string | null => {
  const value = headers[name];
  return typeof value === 'string' ? value : null;
};
const list = (value: string | null): string[] | null => (value === null ? null : value.split(' ').filter(Boolean));

/**
 * The built-in upstream behind the demo API: answers with what the gateway told it about the caller,
 * so a developer sees what an upstream behind Gatehouse receives. Every X-Gatehouse-* header is echoed
 * under `headers`; the common ones also by name (null when the gateway did not send them: an API key
 * names an app and a key, an access token a user, a client, scopes and roles).
 */
export function createDemoUpstream(): Server {
  return createServer((req, res) => {
    const h = req.headers;
    const body = `${JSON.stringify({
      message: 'Hello from the demo API behind Gatehouse',
      method: req.method,
      path: req.url,
      app: header(h, 'x-gatehouse-app'),
      keyId: header(h, 'x-gatehouse-key-id'),
      user: header(h, 'x-gatehouse-user'),
      client: header(h, 'x-gatehouse-client'),
      scopes: list(header(h, 'x-gatehouse-scopes')),
      roles: list(header(h, 'x-gatehouse-roles')),
      headers: Object.fromEntries(Object.entries(h).filter(([name]) => name.startsWith('x-gatehouse-'))),
      receivedCredential: h.authorization !== undefined || h['x-api-key'] !== undefined || h.dpop !== undefined,
    })}\n`; // the newline ends the line in a terminal after curl
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}
