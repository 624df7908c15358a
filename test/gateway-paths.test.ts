import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { CASE_INSENSITIVE, routesUnder, startDecodingUpstream, type DecodedRequest, type DecodingMode } from './support/decoding-upstream.ts';
import { startAuthHarness, type AuthHarness } from './support/oauth.ts';

/** What the gateway must do with a path: refuse it (400, 401 or 403), or forward exactly this path. */
type Expect = 'refuse' | string;
/** A path below the listen path, and what to expect on an API with case-sensitive and case-insensitive matching. */
type Variant = [path: string, sensitive: Expect, insensitive?: Expect];

/** Sent with a key that may use the whole API; the route rule `/admin/**` needs a bearer token with role admin. */
const RULE_VARIANTS: Variant[] = [
  ['/admin/secret', 'refuse'],
  ['/admin', 'refuse'],
  ['/admin/', 'refuse'],
  ['/%61dmin/secret', 'refuse'],
  ['/ad%6Din/secret', 'refuse'],
  ['/%61%64%6d%69%6e/secret', 'refuse'],
  ['/ADMIN/secret', '/ADMIN/secret', 'refuse'],
  ['/Admin/secret', '/Admin/secret', 'refuse'],
  ['/%41DMIN/secret', '/ADMIN/secret', 'refuse'],
  ['//admin/secret', 'refuse'],
  ['///admin//secret', 'refuse'],
  ['/admin;x=1/secret', 'refuse'],
  ['/admin;/secret', 'refuse'],
  ['/admin%3bx=1/secret', 'refuse'],
  ['/%2561dmin/secret', 'refuse'],
  ['/./admin/secret', 'refuse'],
  ['/x/../admin/secret', 'refuse'],
  ['/x/..;/admin/secret', 'refuse'],
  ['/x/%2e%2e/admin/secret', 'refuse'],
  ['/x/%2E%2E/admin/secret', 'refuse'],
  ['/admin%2fsecret', 'refuse'],
  ['/x%2f..%2fadmin/secret', 'refuse'],
  ['/%2fadmin/secret', 'refuse'],
  ['/admin%00/secret', 'refuse'],
  ['/\\admin/secret', 'refuse'],
  ['/x\\..\\admin/secret', 'refuse'],
  ['/admin%5csecret', 'refuse'],
  ['/%c0%ae/admin/secret', 'refuse'],
  ['/admin/secret#x', 'refuse'],
  ['/admin%20/secret', '/admin%20/secret'],
  ['/caf%c3%a9', '/caf%C3%A9', 'refuse'],
];

/** Sent with a key limited to `/public/**`. */
const PUBLIC_VARIANTS: Variant[] = [
  ['/public/x', '/public/x'],
  ['/private/x', 'refuse'],
  ['/public/..;/admin/secret', 'refuse'],
  ['/public/%252e%252e/admin/secret', 'refuse'],
  ['/public/%c0%ae%c0%ae/admin/secret', 'refuse'],
  ['/public/%e0%80%ae%e0%80%ae/admin/secret', 'refuse'],
  ['/public/%c0%af../admin/secret', 'refuse'],
  ['/public/../admin/secret', 'refuse'],
  ['/public/..', 'refuse'],
  ['/public/./x', 'refuse'],
  ['/public/%2e%2e/admin/secret', 'refuse'],
  ['/public/.%2E/admin/secret', 'refuse'],
  ['/public%2f..%2fadmin/secret', 'refuse'],
  ['/public/..%2fadmin/secret', 'refuse'],
  ['/public/..%5cadmin/secret', 'refuse'],
  ['/public\\..\\admin/secret', 'refuse'],
  ['/public;/../admin/secret', 'refuse'],
  ['/public;x/secret', 'refuse'],
  ['/public/%u002e%u002e/admin/secret', 'refuse'],
  ['/public/x%00', 'refuse'],
  ['/PUBLIC/x', 'refuse', '/PUBLIC/x'],
  ['/public//x', '/public/x'],
  ['/public/%61bc', '/public/abc'],
  ['/public/a%2bb', '/public/a+b'],
  ['/public/a|b', '/public/a%7Cb'],
  ['/public/a%3fb', '/public/a%3Fb'],
  ['/public/x?next=/admin/%2e%2e', '/public/x?next=/admin/%2e%2e'],
  ['/public/caf%c3%a9', '/public/caf%C3%A9', 'refuse'],
];

const MODES: DecodingMode[] = ['wsgi', 'express', 'spring'];

/** One request with the exact target given (fetch would normalise it), marked with a request id. */
function send(base: string, path: string, key: string, requestId: string): Promise<{ status: number; body: any }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { 'x-api-key': key, 'x-request-id': requestId } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode!, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gateway: one canonical path is authorised and forwarded, whatever the upstream decodes', () => {
  let h: AuthHarness;
  const upstreams = new Map<DecodingMode, Awaited<ReturnType<typeof startDecodingUpstream>>>();
  const keys = new Map<DecodingMode, { whole: string; publicOnly: string }>();

  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '100000' });
    const app = await h.admin('POST', '/apps', { name: 'Path tester' });
    for (const mode of MODES) {
      const upstream = await startDecodingUpstream(mode);
      upstreams.set(mode, upstream);
      const api = await h.admin('POST', '/apis', {
        name: mode,
        listenPath: `/${mode}`,
        upstreamUrl: upstream.url,
        // Express routes without regard to case: the API says so, and the gateway matches the same way.
        ...(CASE_INSENSITIVE[mode] ? { pathCase: 'insensitive' } : {}),
        auth: { type: 'apiKey', scopes: [], routes: [{ paths: ['/admin/**'], type: 'bearer', roles: ['admin'] }] },
      });
      assert.equal(api.status, 201, JSON.stringify(api.body));
      const whole = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: api.body.id }] });
      const publicOnly = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: api.body.id, paths: ['/public/**'] }] });
      keys.set(mode, { whole: whole.body.secret, publicOnly: publicOnly.body.secret });
    }
  });
  after(async () => {
    await h.close();
    for (const { server } of upstreams.values()) {
      server.closeAllConnections();
      server.close();
    }
  });

  let sequence = 0;
  /** Sends every variant; each is refused, or reaches the upstream as exactly the expected canonical path and nowhere protected. */
  async function check(mode: DecodingMode, variants: Variant[], key: string, protectedPrefixes: string[], allowedPrefix: string | null) {
    const upstream = upstreams.get(mode)!;
    const failures: string[] = [];
    for (const [path, sensitive, insensitive] of variants) {
      const expected = CASE_INSENSITIVE[mode] ? (insensitive ?? sensitive) : sensitive;
      const requestId = `${mode}-${++sequence}`;
      const res = await send(h.gh.gatewayUrl, `/${mode}${path}`, key, requestId);
      const seen: DecodedRequest[] = upstream.requests.filter((r) => r.requestId === requestId);
      const where = `${mode} ${path} -> ${res.status} ${JSON.stringify(res.body).slice(0, 160)} upstream ${JSON.stringify(seen)}`;
      for (const r of seen) {
        if (r.route !== null && protectedPrefixes.some((p) => routesUnder(mode, r.route!, p))) failures.push(`reached a protected path: ${where}`);
        if (r.route !== null && allowedPrefix !== null && !routesUnder(mode, r.route, allowedPrefix)) failures.push(`left ${allowedPrefix}: ${where}`);
      }
      if (expected === 'refuse') {
        if (seen.length > 0 || ![400, 401, 403].includes(res.status)) failures.push(`not refused: ${where}`);
        else if (res.status === 400 && res.body.code !== 'PATH_NOT_CANONICAL') failures.push(`refused with the wrong code: ${where}`);
      } else if (res.status !== 200 || seen.length !== 1 || seen[0]!.raw !== expected) {
        failures.push(`not forwarded as ${expected}: ${where}`);
      }
    }
    assert.deepEqual(failures, []);
  }

  for (const mode of MODES) {
    test(`${mode}: no spelling of /admin reaches the upstream with only an API key`, async () => {
      await check(mode, RULE_VARIANTS, keys.get(mode)!.whole, ['/admin'], null);
    });

    test(`${mode}: a key limited to /public/** reaches nothing outside it, however the path is spelled`, async () => {
      await check(mode, PUBLIC_VARIANTS, keys.get(mode)!.publicOnly, ['/admin', '/private'], '/public');
    });
  }
});
