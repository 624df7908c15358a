import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../../config/load.ts';
import { gatewayPublicHost } from '../../config/schema.ts';
import { createDemoObjects, ensureDemoSecrets, type DemoSecrets } from '../../demo/demo-setup.ts';
import { ensureDevCertificate, type DevCertificate } from '../../tls/dev-ca.ts';
import { createDemoUpstream } from '../../demo/demo-upstream.ts';
import { startGatehouse, type Gatehouse } from '../../gatehouse.ts';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.ts';
import type { Output } from '../output.ts';

/** `gatehouse start --config F`: the real thing. */
export async function runStart(configFile: string | undefined, out: Output): Promise<void> {
  const gh = await startGatehouse(loadConfig({ file: configFile }));
  stopOnSignals(gh);
  if (out.json) out.result({ gatewayUrl: gh.gatewayUrl, controlUrl: gh.controlUrl }, () => '');
}

/** `gatehouse migrate`: applies pending store migrations and exits. */
export async function runMigrate(configFile: string | undefined, out: Output): Promise<void> {
  const config = loadConfig({ file: configFile, secretsRequired: false });
  const store = openSqliteStore(config.storePath);
  try {
    const ran = await store.migrate();
    out.result({ store: config.storePath, migrationsApplied: ran }, () => `${config.storePath}: ${ran} migration(s) applied`);
  } finally {
    await store.close();
  }
}

/**
 * `npm start`: control plane, gateway and a demo upstream in one process on the embedded store.
 * Demo objects are created on the first start only; their secrets are printed that once.
 */
export async function runDemo(configFile: string | undefined, out: Output): Promise<void> {
  let config = loadConfig({ file: configFile, secretsRequired: false });
  let dev: DevCertificate | null = null;
  if (config.peppers.length === 0 || !config.masterKey || !config.gateway.tls) {
    ensureDemoSecrets(config.dataDir);
    // HTTPS from the first start: a local development CA and a certificate for localhost, made once.
    dev = config.gateway.tls ? null : await ensureDevCertificate(config.dataDir);
    const tlsEnv = dev ? { GATEHOUSE_GATEWAY_TLS_CERT_FILE: dev.certFile, GATEHOUSE_GATEWAY_TLS_KEY_FILE: dev.keyFile } : {};
    // The development certificate names localhost: a gateway listening on every address is reached there.
    const hostEnv = dev && gatewayPublicHost(config.gateway) === null ? { GATEHOUSE_GATEWAY_PUBLIC_HOST: 'localhost' } : {};
    config = loadConfig({ file: configFile, env: { ...process.env, ...tlsEnv, ...hostEnv } });
  }
  const upstream = createDemoUpstream();
  const upstreamPort = Number(process.env.GATEHOUSE_DEMO_UPSTREAM_PORT ?? 8090);
  await new Promise<void>((resolve, reject) => upstream.once('error', reject).listen(upstreamPort, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  let gh: Gatehouse;
  try {
    gh = await startGatehouse(config);
  } catch (error) {
    upstream.close();
    throw error;
  }
  const secrets = await createDemoObjects(gh.ctx, upstreamUrl);
  stopOnSignals(gh, upstream);
  const info = { gatewayUrl: gh.gatewayUrl, adminUrl: `${gh.controlUrl}/admin/v1`, dataDir: config.dataDir, ...(dev ? { caFile: dev.caFile } : {}), ...(secrets ?? {}) };
  out.result(info, () => demoBanner(config, gh, secrets, dev));
}

function demoBanner(config: Readonly<Config>, gh: Gatehouse, secrets: DemoSecrets | null, dev: DevCertificate | null): string {
  const cacert = dev ? `--cacert ${dev.caFile} ` : '';
  const lines = [
    '',
    `Gatehouse is running in demo mode (data in ${config.dataDir}, kept across restarts).`,
    `  Gateway:    ${gh.gatewayUrl}`,
    `  Admin API:  ${gh.controlUrl}/admin/v1   (OpenAPI: ${gh.controlUrl}/admin/v1/openapi.json)`,
    `  OAuth 2.0 / OpenID Connect issuer: ${gh.controlUrl}   (${gh.controlUrl}/.well-known/openid-configuration)`,
    '',
    ...(dev
      ? [
          `The gateway speaks HTTPS with a certificate from a development CA made for this machine${dev.created ? ' just now' : ''}:`,
          `  ${dev.caFile}`,
          '  Trust it for curl with --cacert (below), for Node with NODE_EXTRA_CA_CERTS, or system-wide on Debian:',
          `  sudo cp ${dev.caFile} /usr/local/share/ca-certificates/gatehouse-dev.crt && sudo update-ca-certificates`,
          '  Credentials sent over plain HTTP are refused, and an API key sent that way is flagged as exposed.',
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
      'Call the demo API through the gateway:',
      `  curl -i ${cacert}-H "Authorization: Bearer ${secrets.apiKey}" ${gh.gatewayUrl}/demo/hello`,
      '',
      ...(secrets.client && secrets.user
        ? [
            '',
            `Sign-in user: ${secrets.user.username} / ${secrets.user.password}`,
            'An access token for the demo API (client credentials), then a call that needs it:',
            `  TOKEN=$(curl -s -u ${secrets.client.id}:${secrets.client.secret} -d grant_type=client_credentials ${gh.controlUrl}/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`,
            `  curl -i ${cacert}-H "Authorization: Bearer $TOKEN" ${gh.gatewayUrl}/demo/me`,
          ]
        : []),
      '',
      'Manage it from another terminal:',
      `  export GATEHOUSE_ADMIN_KEY=${secrets.adminKey}`,
      '  npx gatehouse keys list',
    );
  } else {
    lines.push(
      'The demo API, app and keys were created on the first start; their secrets were shown then.',
      'Issue new ones with:',
      '  npx gatehouse admin-keys create --name me --permissions keys:read,keys:write',
      '  GATEHOUSE_ADMIN_KEY=... npx gatehouse keys list --status active   (then: keys rotate ID)',
    );
  }
  lines.push('', 'Stop with Ctrl+C.');
  return lines.join('\n');
}

function stopOnSignals(gh: Gatehouse, ...servers: Server[]): void {
  const stop = () => {
    for (const server of servers) server.close();
    gh.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
