import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { loadConfig, type Config } from '../../config/load.ts';
import { gatewayPublicHost, NODE_ROLES, type NodeRole } from '../../config/schema.ts';
import type { DemoSecrets } from '../../demo/demo-setup.ts';
import type { DevCertificate } from '../../tls/dev-ca.ts';
import { startGatehouse, type Gatehouse } from '../../gatehouse.ts';
import { describeStore, openStore } from '../../store/open-store.ts';
import { CommandError, UsageError, type Output } from '../output.ts';

/**
 * `gatehouse start --config F [--role all|control|gateway]`: the real thing. The role (default
 * node.role, itself `all`) says which planes this process runs (docs/deployment.md, "Node roles").
 */
export async function runStart(configFile: string | undefined, out: Output, roleOption?: string): Promise<void> {
  if (roleOption !== undefined && !(NODE_ROLES as readonly string[]).includes(roleOption)) {
    throw new UsageError(`--role takes one of ${NODE_ROLES.join(', ')}`);
  }
  const config = loadConfig({ file: configFile });
  const role = (roleOption as NodeRole | undefined) ?? config.node.role;
  const gh = await startGatehouse(config, { role }).catch((error: unknown) => {
    throw portInUse(error, config);
  });
  stopOnSignals(gh);
  if (out.json) out.result({ role: gh.role, gatewayUrl: gh.gatewayUrl || null, controlUrl: gh.controlUrl }, () => '');
}

/** `gatehouse migrate`: applies pending store migrations and exits. */
export async function runMigrate(configFile: string | undefined, out: Output): Promise<void> {
  const config = loadConfig({ file: configFile, secretsRequired: false });
  const { store } = await openStore(config);
  try {
    const ran = await store.migrate();
    const where = describeStore(config);
    out.result({ store: where, migrationsApplied: ran }, () => `${where}: ${ran} migration(s) applied`);
  } finally {
    await store.close();
  }
}

/**
 * `npm start`: control plane, gateway and a demo upstream in one process on the embedded store.
 * Demo objects are created on the first start only; their secrets are printed that once.
 */
export async function runDemo(configFile: string | undefined, out: Output): Promise<void> {
  // The demo's own modules (its objects, upstream and development CA) are not loaded by `start`.
  const [{ createDemoObjects, ensureDemoSecrets }, { ensureDevCertificate }, { createDemoUpstream }] = await Promise.all([
    import('../../demo/demo-setup.ts'),
    import('../../tls/dev-ca.ts'),
    import('../../demo/demo-upstream.ts'),
  ]);
  let config = loadConfig({ file: configFile, secretsRequired: false, base: DEMO_CONFIG });
  let dev: DevCertificate | null = null;
  if (config.peppers.length === 0 || !config.masterKey || !config.gateway.tls) {
    ensureDemoSecrets(config.dataDir);
    // HTTPS from the first start: a local development CA and a certificate for localhost, made once.
    dev = config.gateway.tls ? null : await ensureDevCertificate(config.dataDir);
    const tlsEnv = dev ? { GATEHOUSE_GATEWAY_TLS_CERT_FILE: dev.certFile, GATEHOUSE_GATEWAY_TLS_KEY_FILE: dev.keyFile } : {};
    // The development certificate names localhost: a gateway listening on every address is reached there.
    const hostEnv = dev && gatewayPublicHost(config.gateway) === null ? { GATEHOUSE_GATEWAY_PUBLIC_HOST: 'localhost' } : {};
    config = loadConfig({ file: configFile, env: { ...process.env, ...tlsEnv, ...hostEnv }, base: DEMO_CONFIG });
  }
  const upstream = createDemoUpstream();
  const upstreamPort = Number(process.env.GATEHOUSE_DEMO_UPSTREAM_PORT ?? DEMO_UPSTREAM_PORT);
  await new Promise<void>((resolve, reject) => upstream.once('error', reject).listen(upstreamPort, '127.0.0.1', resolve)).catch((error: unknown) => {
    throw portInUse(error, config, { port: upstreamPort, what: 'the demo upstream', setting: 'GATEHOUSE_DEMO_UPSTREAM_PORT' });
  });
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  let gh: Gatehouse;
  try {
    gh = await startGatehouse(config);
  } catch (error) {
    upstream.close();
    throw portInUse(error, config);
  }
  const secrets = await createDemoObjects(gh.ctx, upstreamUrl);
  stopOnSignals(gh, upstream);
  const info = {
    gatewayUrl: gh.gatewayUrl,
    adminUrl: `${gh.controlUrl}/admin/v1`,
    upstreamUrl,
    dataDir: config.dataDir,
    ...(dev ? { caFile: dev.caFile } : {}),
    ...(secrets ?? {}),
  };
  out.result(info, () => demoBanner(config, gh, upstreamUrl, secrets, dev));
}

/**
 * Demo mode's own settings, under the config file's: the demo admin signs in with the generated
 * password alone, on this machine, without an authenticator app in the first hour. Said in the
 * banner; `gatehouse start` keeps the default, where admins and operators must pass a second factor.
 * A config file that sets authorization.mfaRequiredConsoleRoles wins, in the demo too.
 */
const DEMO_CONFIG = { authorization: { mfaRequiredConsoleRoles: [] } };

/** The demo upstream's port unless GATEHOUSE_DEMO_UPSTREAM_PORT says otherwise (0: any free port). */
const DEMO_UPSTREAM_PORT = 8090;

/**
 * A port someone else holds, as an error that says which setting moves the listener. `extra` is a
 * listener outside the configuration (the demo upstream).
 */
function portInUse(error: unknown, config: Readonly<Config>, extra?: { port: number; what: string; setting: string }): unknown {
  const e = error as NodeJS.ErrnoException & { port?: number };
  if (e.code !== 'EADDRINUSE') return error;
  const listeners = [
    ...(extra ? [extra] : []),
    { port: config.gateway.port, what: 'the gateway', setting: 'GATEHOUSE_GATEWAY_PORT (gateway.port in the config file)' },
    { port: config.control.port, what: 'the control plane (admin API)', setting: 'GATEHOUSE_CONTROL_PORT (control.port in the config file)' },
    ...(config.gateway.httpRedirectPort === undefined
      ? []
      : [
          {
            port: config.gateway.httpRedirectPort,
            what: 'the HTTP redirect listener',
            setting: 'GATEHOUSE_GATEWAY_HTTP_REDIRECT_PORT (gateway.httpRedirectPort in the config file)',
          },
        ]),
  ];
  const listener = listeners.find((l) => l.port === e.port);
  if (!listener) return error;
  return new CommandError(`port ${listener.port} is already in use (${listener.what}): set ${listener.setting} to a free port, or 0 for any`);
}

/** What the demo's sign-in asks of admins and operators: none by demo mode's choice (DEMO_CONFIG), else as configured. */
function mfaNotice(config: Readonly<Config>): string[] {
  const roles = config.authorization.mfaRequiredConsoleRoles;
  if (roles.length === 0) {
    return [
      'Demo only: console admins and operators sign in here without a second factor (authorization.mfaRequiredConsoleRoles: [] in demo mode).',
      '  Outside the demo (gatehouse start) they must set up TOTP at their first sign-in; README.md, "The web console and developer portal".',
    ];
  }
  return [`A second factor is required for console roles ${roles.join(', ')}: the first sign-in sets up TOTP with an authenticator app.`];
}

function demoBanner(config: Readonly<Config>, gh: Gatehouse, upstreamUrl: string, secrets: DemoSecrets | null, dev: DevCertificate | null): string {
  const cacert = dev ? `--cacert ${dev.caFile} ` : '';
  const apiKey = secrets?.apiKey ?? 'gk_test_...';
  const lines = [
    '',
    `Gatehouse is running in demo mode (data in ${config.dataDir}, kept across restarts).`,
    `  Gateway:        ${gh.gatewayUrl}   (port: GATEHOUSE_GATEWAY_PORT)`,
    `  Admin API:      ${gh.controlUrl}/admin/v1   (port: GATEHOUSE_CONTROL_PORT; OpenAPI: ${gh.controlUrl}/admin/v1/openapi.json)`,
    `  OAuth 2.0 / OpenID Connect issuer: ${gh.controlUrl}   (${gh.controlUrl}/.well-known/openid-configuration)`,
    `  Demo upstream:  ${upstreamUrl}, behind ${gh.gatewayUrl}/demo   (port: GATEHOUSE_DEMO_UPSTREAM_PORT)`,
    ...(gh.authorization ? [`  Web app:        ${gh.controlUrl}/console/   (operators; developers: ${gh.controlUrl}/developers/)`] : []),
    '',
    ...(dev
      ? [
          `The gateway speaks HTTPS with a certificate from a development CA made for this machine${dev.created ? ' just now' : ''}:`,
          `  ${dev.caFile}`,
          '  Trust it for curl with --cacert (below), for Node with NODE_EXTRA_CA_CERTS, or system-wide on Debian:',
          `  sudo cp ${dev.caFile} /usr/local/share/ca-certificates/gatehouse-dev.crt && sudo update-ca-certificates`,
          '  Plain http:// to the gateway port gets 400 HTTPS_REQUIRED; credentials sent that way are refused (403), and an API key sent that way is flagged as exposed.',
          ...(gh.redirectUrl
            ? [
                `  Plain HTTP on ${gh.redirectUrl} only redirects to HTTPS: credentials sent there are refused, and an API key sent that way is flagged as exposed.`,
              ]
            : [
                '  GATEHOUSE_GATEWAY_HTTP_REDIRECT_PORT adds a plain-HTTP listener that redirects to HTTPS (credentials sent to it are refused and flagged the same way).',
              ]),
          '',
        ]
      : []),
  ];
  if (secrets) {
    lines.push(
      'These secrets are shown once, now. Only their keyed hashes are stored.',
      `  Admin key:     ${secrets.adminKey}`,
      `  Demo API key:  ${secrets.apiKey}`,
      '',
    );
  } else {
    lines.push('The demo API, app and keys were created on the first start; their secrets were shown then.', '');
  }
  lines.push(
    `Call the demo API through the gateway${secrets ? '' : ' (with the demo API key from the first start)'}:`,
    `  curl -i ${cacert}-H "Authorization: Bearer ${apiKey}" ${gh.gatewayUrl}/demo/hello`,
    'Ten calls on one connection: the key allows 5 a second, so the last ones are answered 429 with Retry-After:',
    `  curl -s -o /dev/null -w '%{http_code} ' ${cacert}-H "Authorization: Bearer ${apiKey}" "${gh.gatewayUrl}/demo/hello?n=[1-10]"; echo`,
  );
  if (secrets?.user && secrets.developer) {
    lines.push(
      '',
      `Sign in to the web app at ${gh.controlUrl}/console/ (demo accounts, generated passwords; demo only):`,
      `  Operator (console role admin):      ${secrets.user.username} / ${secrets.user.password}`,
      `  Developer (the portal, /developers/): ${secrets.developer.username} / ${secrets.developer.password}`,
    );
  }
  if (gh.authorization) lines.push('', ...mfaNotice(config));
  if (secrets?.client) {
    lines.push(
      '',
      'An access token for the demo API (client credentials), then a call that needs it; the demo API shows who the gateway says called:',
      `  TOKEN=$(curl -s -u ${secrets.client.id}:${secrets.client.secret} -d grant_type=client_credentials ${gh.controlUrl}/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`,
      `  curl -i ${cacert}-H "Authorization: Bearer $TOKEN" ${gh.gatewayUrl}/demo/me`,
    );
  }
  lines.push(
    '',
    `Manage it from another terminal${secrets ? '' : ' (with the admin key from the first start, or a new one: below)'}:`,
    `  export GATEHOUSE_URL=${gh.controlUrl}`,
    `  export GATEHOUSE_ADMIN_KEY=${secrets?.adminKey ?? 'gka_live_...'}`,
    '  npx gatehouse keys list',
  );
  if (!secrets) {
    lines.push(
      'A new admin key, made on the store directly (the demo may keep running):',
      `  GATEHOUSE_DATA_DIR=${resolve(config.dataDir)} npx gatehouse admin-keys create --name me --permissions keys:read,keys:write`,
    );
  }
  lines.push('', 'Stop with Ctrl+C.');
  return lines.join('\n');
}

/**
 * Stops on SIGINT or SIGTERM, once: a second signal while stopping (Ctrl+C reaches both the bin's
 * launcher and the CLI it runs, and the launcher forwards it) does not cut the shutdown short.
 */
function stopOnSignals(gh: Gatehouse, ...servers: Server[]): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const server of servers) server.close();
    gh.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
