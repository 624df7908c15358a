/**
 * Gatehouse with the authorization server on, for bench/authorization.ts: a temporary data dir,
 * random pepper and master key, one API, one confidential client-credentials client, and one access
 * token to introspect. Sends { type: 'ready', url, clientId, secret, token } over IPC.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { apisService } from '../src/control/services/apis.ts';
import { clientsService } from '../src/control/services/clients.ts';
import { startGatehouse } from '../src/gatehouse.ts';
import { answerCpuRequests } from './cpu-report.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-auth-'));
const config = loadConfig({
  env: {
    GATEHOUSE_PEPPER: randomBytes(32).toString('hex'),
    GATEHOUSE_MASTER_KEY: randomBytes(32).toString('hex'),
    GATEHOUSE_DATA_DIR: dir,
    GATEHOUSE_GATEWAY_PORT: '0',
    GATEHOUSE_CONTROL_PORT: '0',
    // The authorization server's figures, with the gateway on the main thread as before workers.
    GATEHOUSE_GATEWAY_WORKERS: '1',
  },
});
const gh = await startGatehouse(config, { logger: pino({ level: 'silent' }) });
const actor = { actor: 'bench', requestId: null };
const api = await apisService.create(gh.ctx, actor, {
  name: 'bench',
  listenPath: '/bench',
  upstreamUrl: 'http://127.0.0.1:9',
  auth: { type: 'apiKey', scopes: ['bench:read'] },
  timeoutSeconds: 5,
  pathCase: 'sensitive',
});
const { client, secret } = await clientsService.create(gh.ctx, actor, {
  name: 'bench',
  type: 'confidential',
  redirectUris: [],
  postLogoutRedirectUris: [],
  grantTypes: ['client_credentials'],
  scopes: ['bench:read'],
  apiIds: [api.id],
  firstParty: true,
  dpopBound: false,
  exchangeAppId: null,
  accessTokenTtlSeconds: null,
});
const basic = `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`;
const res = await fetch(`${gh.controlUrl}/token`, {
  method: 'POST',
  headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
  body: 'grant_type=client_credentials&scope=bench:read',
});
const { access_token: token } = (await res.json()) as { access_token: string };

const stop = () => void gh.close().finally(() => (rmSync(dir, { recursive: true, force: true }), process.exit(0)));
process.send!({ type: 'ready', url: gh.controlUrl, authorization: basic, token });
process.on('message', (message: { type: string }) => message.type === 'stop' && stop());
process.on('disconnect', stop);
answerCpuRequests();
