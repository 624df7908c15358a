import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { API_KEY_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/control/authorization/token-exchange.ts';
import { fetchFrom, startHarness, TestClock, type Harness } from './harness.ts';

export const TEST_MASTER_KEY = 'test-master-key-0123456789abcdefghijklmnopqrstuvwxyz';
export const PASSWORD = 'correct horse battery staple';
export const REDIRECT = 'http://127.0.0.1:9/callback';
/** oauth4webapi refuses plain HTTP unless told; the tests run on loopback. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** An API key exchanged for an access token (RFC 8693) by a client allowed to: the token response. */
export async function exchangeKey(
  h: { as: oauth.AuthorizationServer },
  exchanger: { client: oauth.Client; auth: oauth.ClientAuth },
  secret: string,
  extra: Record<string, string> = {},
): Promise<oauth.TokenEndpointResponse> {
  const params = { subject_token: secret, subject_token_type: API_KEY_TOKEN_TYPE, ...extra };
  const res = await oauth.genericTokenEndpointRequest(h.as, exchanger.client, exchanger.auth, TOKEN_EXCHANGE_GRANT, params, insecure);
  return oauth.processGenericTokenEndpointResponse(h.as, exchanger.client, res);
}

export interface AuthHarness extends Harness {
  as: oauth.AuthorizationServer;
  issuer: string;
  api(name: string, scopes: string[], extra?: Record<string, unknown>): Promise<{ id: string; audience: string }>;
  client(body: Record<string, unknown>): Promise<{ id: string; secret: string | undefined; client: oauth.Client; auth: oauth.ClientAuth }>;
  user(body?: Record<string, unknown>): Promise<{ id: string; username: string }>;
  audit(action: string): Promise<any[]>;
}

/** A Gatehouse with the authorization server on (master key set), on the wall clock, discovered by oauth4webapi. */
export async function startAuthHarness(env: Record<string, string> = {}, configYaml?: string): Promise<AuthHarness> {
  const h = await startHarness({ GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY, ...env }, TestClock.wall(), configYaml);
  const issuer = new URL(h.gh.controlUrl);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
  let users = 0;
  return Object.assign(h, {
    as,
    issuer: issuer.href.replace(/\/$/, ''),
    async api(name: string, scopes: string[], extra: Record<string, unknown> = {}) {
      const res = await h.admin('POST', '/apis', {
        name,
        listenPath: `/${name}`,
        upstreamUrl: h.upstream.url,
        ...extra,
        auth: { type: 'apiKey', scopes, ...(extra.auth as object) },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { id: res.body.id as string, audience: res.body.tokens.audience as string };
    },
    async client(body: Record<string, unknown>) {
      const res = await h.admin('POST', '/clients', { name: 'test client', ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const secret = res.body.secret as string | undefined;
      return { id: res.body.id as string, secret, client: { client_id: res.body.id as string }, auth: secret ? oauth.ClientSecretBasic(secret) : oauth.None() };
    },
    async user(body: Record<string, unknown> = {}) {
      const username = `user${++users}@example.com`;
      const res = await h.admin('POST', '/users', { username, password: PASSWORD, roles: ['staff'], ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { id: res.body.id as string, username };
    },
    async audit(action: string) {
      return (await h.admin('GET', `/audit?action=${encodeURIComponent(action)}&limit=100`)).body.items;
    },
  });
}

export interface Page {
  url: string;
  status: number;
  headers: Headers;
  html: string;
}

/**
 * A browser's share of the protocol, over real HTTP: a cookie jar, redirects followed within the
 * issuer, forms read from the served HTML and submitted as a browser would.
 */
export class Browser {
  readonly #origin: string;
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie line received, in order, to check attributes the jar drops. */
  readonly setCookies: string[] = [];
  readonly #fetch: typeof fetch;

  /** `from`: the loopback address this browser connects from (see fetchFrom); 127.0.0.1 by default. */
  constructor(issuer: string, from?: string) {
    this.#origin = new URL(issuer).origin;
    this.#fetch = from ? fetchFrom(from) : fetch;
  }

  /** Follows redirects inside the issuer; stops at a page or at a redirect leaving it (the client's callback). */
  async go(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page | URL> {
    let target = new URL(url, this.#origin);
    let method = init.method ?? 'GET';
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; hops < 20; hops++) {
      const res = await this.#fetch(target, {
        method,
        redirect: 'manual',
        headers: {
          // What browsers send for a page: oidc-provider answers errors as HTML or JSON by it.
          accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
          cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded', origin: this.#origin } : {}),
          ...init.headers,
        },
        ...(body ? { body } : {}),
      });
      for (const line of res.headers.getSetCookie()) {
        this.setCookies.push(line);
        const [pair] = line.split(';');
        const eq = pair!.indexOf('=');
        const value = pair!.slice(eq + 1);
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(pair!.slice(0, eq));
        else this.cookies.set(pair!.slice(0, eq), value);
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        const next = new URL(location, target);
        if (next.origin !== this.#origin) return next;
        target = next;
        method = 'GET';
        body = undefined;
        continue;
      }
      return { url: target.href, status: res.status, headers: res.headers, html: await res.text() };
    }
    throw new Error('too many redirects');
  }

  /** Submits the page's form (the first, or the one whose action contains `actionPart`) with its hidden fields. */
  async submit(page: Page, fields: Record<string, string> = {}, actionPart = ''): Promise<Page | URL> {
    const forms = [...page.html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => f[1]!.includes(actionPart));
    assert.ok(form, `no form with action containing "${actionPart}" on ${page.url}:\n${page.html.slice(0, 500)}`);
    const hidden = Object.fromEntries([...form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, decode(m[2]!)]));
    return this.go(new URL(decode(form[1]!), page.url).href, { method: 'POST', form: { ...hidden, ...fields } });
  }
}

const decode = (s: string): string =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

export function asPage(result: Page | URL): Page {
  assert.ok(!(result instanceof URL), `expected a page, got a redirect to ${String(result)}`);
  return result;
}

export function asRedirect(result: Page | URL): URL {
  if (!(result instanceof URL)) assert.fail(`expected a redirect to the client, got a page: ${result.url} (${result.status})\n${result.html.slice(0, 600)}`);
  return result;
}

/** An authorization request with PKCE (S256) and state; returns what the callback check needs. */
export async function authorizationUrl(h: AuthHarness, clientId: string, params: Record<string, string | string[]> = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(h.as.authorization_endpoint!);
  const base: Record<string, string> = {
    client_id: clientId,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  };
  for (const [k, v] of Object.entries(base)) url.searchParams.set(k, v);
  for (const [k, v] of Object.entries(params)) {
    url.searchParams.delete(k);
    for (const one of [v].flat()) url.searchParams.append(k, one);
  }
  return { url: url.href, verifier, state };
}

/** Signs in through the real login page (and consent, when asked) and returns the callback URL. */
export async function signIn(browser: Browser, url: string, username: string, password = PASSWORD, consent = true): Promise<URL> {
  let result = await browser.go(url);
  if (!(result instanceof URL) && result.html.includes('name="password"')) result = await browser.submit(result, { username, password }, '/login');
  if (consent && !(result instanceof URL) && result.html.includes('/consent')) result = await browser.submit(result, {}, '/consent');
  return asRedirect(result);
}

/** The full code flow through the pages, then the token request; returns the token response. */
export async function codeFlow(
  h: AuthHarness,
  browser: Browser,
  c: { client: oauth.Client; auth: oauth.ClientAuth },
  username: string,
  params: Record<string, string | string[]> = {},
  tokenParams: Record<string, string> = {},
) {
  const { url, verifier, state } = await authorizationUrl(h, c.client.client_id, params);
  const callback = await signIn(browser, url, username);
  const validated = oauth.validateAuthResponse(h.as, c.client, callback, state);
  const res = await oauth.authorizationCodeGrantRequest(h.as, c.client, c.auth, validated, REDIRECT, verifier, {
    additionalParameters: tokenParams,
    ...insecure,
  });
  return oauth.processAuthorizationCodeResponse(h.as, c.client, res);
}

export function claimsOf(jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
}

export function headerOf(jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString());
}

/** A confidential client's form POST to the authorization server (client_secret_basic, RFC 6749 §2.3.1): its status and JSON body. */
export async function clientPost(client: { id: string; secret?: string | undefined }, url: string, form: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret ?? ''}`).toString('base64')}`,
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A refresh at the token endpoint (RFC 6749 §6) by a confidential client. */
export const refreshWith = (h: AuthHarness, client: { id: string; secret?: string | undefined }, token: string) =>
  clientPost(client, h.as.token_endpoint!, { grant_type: 'refresh_token', refresh_token: token });
