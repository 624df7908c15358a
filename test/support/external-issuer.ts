/**
 * A second identity provider in its own process, as Keycloak or Auth0 would be: discovery, a JWKS it
 * can rotate, and tokens signed on request over IPC. Messages: { type: 'sign', claims, header? } →
 * { type: 'signed', token }; { type: 'rotate' } → { type: 'rotated', kid }; { type: 'stats' } →
 * { type: 'stats', jwksFetches }. A huge JWKS is served at /huge-jwks for the size limit.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

let current: { kid: string; privateKey: CryptoKey; jwk: Record<string, unknown> };
let generation = 0;
let jwksFetches = 0;
let introspections = 0;
/** Opaque tokens this issuer knows: token → its introspection answer. */
const opaque = new Map<string, Record<string, unknown>>();

async function newKey(): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `ext-${++generation}`;
  current = { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}
await newKey();

const server = createServer((req, res) => {
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const json = (body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/.well-known/openid-configuration') return json({ issuer: origin, jwks_uri: `${origin}/jwks` });
  if (req.url === '/jwks') {
    jwksFetches++;
    return json({ keys: [current.jwk] });
  }
  if (req.url === '/introspect' && req.method === 'POST') {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      introspections++;
      const expected = `Basic ${Buffer.from('gatehouse-gw:introspection-secret').toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return void res.end('{"error":"invalid_client"}');
      }
      const token = new URLSearchParams(body).get('token') ?? '';
      json(opaque.get(token) ?? { active: false });
    });
    return;
  }
  if (req.url === '/huge-jwks') return json({ keys: [current.jwk], padding: 'x'.repeat(400_000) });
  res.writeHead(404).end();
});
server.listen(0, '127.0.0.1', () => process.send!({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));

process.on('message', (m: { type: string; claims?: Record<string, unknown>; header?: Record<string, unknown> }) => {
  void (async () => {
    if (m.type === 'sign') {
      const token = await new SignJWT(m.claims!).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: current.kid, ...m.header }).sign(current.privateKey);
      process.send!({ type: 'signed', token });
    } else if (m.type === 'rotate') {
      await newKey();
      process.send!({ type: 'rotated', kid: current.kid });
    } else if (m.type === 'opaque') {
      const token = `opaque-${crypto.randomUUID()}`;
      opaque.set(token, { active: true, ...m.claims });
      process.send!({ type: 'opaque', token });
    } else if (m.type === 'forget') {
      opaque.set(String(m.claims!.token), { active: false });
      process.send!({ type: 'forgotten' });
    } else if (m.type === 'stats') {
      process.send!({ type: 'stats', jwksFetches, introspections });
    } else if (m.type === 'stop') {
      server.close(() => process.exit(0));
    }
  })();
});
process.on('disconnect', () => process.exit(0));
