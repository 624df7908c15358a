import { createServer, type Server } from 'node:http';

/** The built-in upstream behind the demo API: answers with what the gateway told it. */
export function createDemoUpstream(): Server {
  return createServer((req, res) => {
    const body = JSON.stringify({
      message: 'Hello from the demo API behind Gatehouse',
      method: req.method,
      path: req.url,
      app: req.headers['x-gatehouse-app'] ?? null,
      keyId: req.headers['x-gatehouse-key-id'] ?? null,
      receivedCredential: req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}
