import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { runCli } from './support/cli.ts';

const PEPPER = 'pepper-A-0123456789abcdefghijklmnopqrstuvwxyz';
const PASSWORD = 'hunter2-public-url-password';

/**
 * authorization.issuer is published: in the discovery document, as every token's `iss`, in redirects
 * and sign-in pages. With a user name and password in it (https://user:pass@auth.example.com) the
 * credential went out to every client; with a query or fragment it is no issuer identifier at all
 * (RFC 8414 §2, OpenID Connect Discovery §3). A trusted issuer's identifier is matched against tokens'
 * `iss` and logged; the URLs Gatehouse fetches (its discovery, JWKS and introspection URLs, GitHub's
 * keys) are logged as they are, and fetch() refuses a URL with credentials, so such a setting could only
 * fail later: a credential belongs in its own setting (clientSecretFile). Each is refused at start,
 * naming the setting, never echoing the password. The OTLP endpoint keeps taking userinfo: its exporter
 * sends it as Basic authentication to the collector (src/telemetry/tracing.test.ts).
 */
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-url-credentials-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const load = (env: Record<string, string>, yaml?: string) => {
  let file: string | undefined;
  if (yaml !== undefined) writeFileSync((file = join(dir, 'gatehouse.yaml')), yaml);
  return () => loadConfig({ file, env: { GATEHOUSE_DATA_DIR: dir, GATEHOUSE_PEPPER: PEPPER, ...env } });
};

function refused(setting: string, run: () => unknown, what: RegExp = /user name or password/) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `${setting}: not a ConfigError: ${String(error)}`);
    assert.ok(error.message.includes(setting), `${setting} is not named: ${error.message}`);
    assert.match(error.message, what);
    assert.ok(!inspect(error).includes(PASSWORD), `${setting}: the password is in the error: ${inspect(error)}`);
    return true;
  });
}

test('authorization.issuer with a user name or password is refused by name, without the password', () => {
  refused('authorization.issuer', load({ GATEHOUSE_AUTHORIZATION_ISSUER: `https://admin:${PASSWORD}@auth.example.com` }));
  refused('authorization.issuer', load({ GATEHOUSE_AUTHORIZATION_ISSUER: `https://${PASSWORD}@auth.example.com` }));
  refused('authorization.issuer', load({}, `authorization:\n  issuer: "https://admin:${PASSWORD}@auth.example.com/tenant"\n`));
});

test('authorization.issuer with a query or fragment is refused (RFC 8414 §2)', () => {
  refused('authorization.issuer', load({ GATEHOUSE_AUTHORIZATION_ISSUER: 'https://auth.example.com/?tenant=a' }), /query or fragment/);
  refused('authorization.issuer', load({ GATEHOUSE_AUTHORIZATION_ISSUER: 'https://auth.example.com/#a' }), /query or fragment/);
});

test('every other URL setting with a user name or password is refused by name, without the password', () => {
  const cred = `admin:${PASSWORD}@`;
  refused('secretScanning.github.publicKeysUrl', load({ GATEHOUSE_SECRET_SCANNING_GITHUB_PUBLIC_KEYS_URL: `https://${cred}api.github.com/meta/public_keys` }));
  const issuer = (fields: string) => `tokens:\n  issuers:\n    - ${fields}\n`;
  refused('tokens.issuers.0.issuer', load({}, issuer(`issuer: "https://${cred}idp.example.com"\n      jwksUrl: "https://idp.example.com/jwks"`)));
  refused(
    'tokens.issuers.0.discoveryUrl',
    load({}, issuer(`issuer: "https://idp.example.com"\n      discoveryUrl: "https://${cred}idp.example.com/.well-known/openid-configuration"`)),
  );
  refused('tokens.issuers.0.jwksUrl', load({}, issuer(`issuer: "https://idp.example.com"\n      jwksUrl: "https://${cred}idp.example.com/jwks"`)));
  refused(
    'tokens.issuers.0.introspection.url',
    load({}, issuer(`issuer: "https://idp.example.com"\n      introspection:\n        url: "https://${cred}idp.example.com/introspect"\n        clientId: gh`)),
  );
});

test('the same URLs without credentials are taken', () => {
  const config = load(
    { GATEHOUSE_AUTHORIZATION_ISSUER: 'https://auth.example.com/tenant', GATEHOUSE_TRACING_ENDPOINT: 'https://otel.example.com/v1/traces' },
    `tokens:\n  issuers:\n    - issuer: "https://idp.example.com"\n      jwksUrl: "https://idp.example.com/jwks"\n`,
  )();
  assert.equal(config.authorization.issuer, 'https://auth.example.com/tenant');
  assert.equal(config.tokens.issuers[0]?.jwksUrl, 'https://idp.example.com/jwks');
});

test('gatehouse start with such an issuer says which setting is wrong, and not the password', async () => {
  const run = await runCli(['start'], {
    GATEHOUSE_PEPPER: PEPPER,
    GATEHOUSE_DATA_DIR: dir,
    GATEHOUSE_AUTHORIZATION_ISSUER: `https://admin:${PASSWORD}@auth.example.com`,
  });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^gatehouse: invalid configuration:\n {2}authorization\.issuer \(from GATEHOUSE_AUTHORIZATION_ISSUER\): /);
  assert.ok(!run.stderr.includes(PASSWORD), run.stderr);
});
