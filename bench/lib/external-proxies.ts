/**
 * nginx and HAProxy (Debian's packages) as benchmark targets: private instances with configs written
 * here, on free loopback ports, in the foreground (never the system services), pinned like every target.
 *
 * Plain: a keep-alive reverse proxy to the upstream, one worker (nginx) or one thread (HAProxy), or
 * `workers` of them (the every-core targets).
 * With keys (`features`), what Gatehouse's apiKey route does, as far as these servers can do it:
 * - the key from `Authorization: Bearer <key>`, looked up in a map file (no key, or a key not in the
 *   map: 401);
 * - a rate limit per key (nginx `limit_req` zones keyed by the key, the key's class from a map;
 *   HAProxy a stick table tracking the key, the key's limit from a map): over it, 429;
 * - identity headers set (X-Gatehouse-App, X-Gatehouse-Key-Id, X-Forwarded-For/-Proto/-Host);
 * - the credential dropped (Authorization and X-API-Key not forwarded).
 * side-by-side.ts checks all four once per run (checkEqualFeatures) before measuring.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { track, type Child } from './children.ts';
import type { Pinning } from './pinning.ts';

export interface MappedKey {
  secret: string;
  appId: string;
  keyId: string;
  /** Requests per second. */
  limit: number;
}

/** The limit of the check key (checkEqualFeatures sends a burst over it); every other key's is far above the load. */
export const CHECK_KEY_LIMIT = 10;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type ExternalKind = 'nginx' | 'haproxy';

export interface ExternalOptions {
  kind: ExternalKind;
  name: string;
  /** Upstream origin (http://127.0.0.1:port). */
  upstream: string;
  /** Keys for the equal-features config; null: plain proxy. */
  keys: MappedKey[] | null;
  dir: string;
  pin: Pinning;
  cpuList: string;
  /** nginx worker processes or HAProxy threads (default 1). */
  workers?: number;
}

export async function startExternal(options: ExternalOptions): Promise<Child> {
  const port = await freePort();
  mkdirSync(options.dir, { recursive: true });
  const upstreamPort = Number(new URL(options.upstream).port);
  const [file, argv] =
    options.kind === 'nginx'
      ? [
          'nginx',
          ['-p', options.dir, '-e', join(options.dir, 'error.log'), '-c', writeNginx(options.dir, port, upstreamPort, options.keys, options.workers ?? 1)],
        ]
      : ['haproxy', ['-db', '-f', writeHaproxy(options.dir, port, upstreamPort, options.keys, options.workers ?? 1)]];
  const proc = track(spawn(...options.pin.on(options.cpuList, file, argv), { stdio: ['ignore', 'inherit', 'inherit'] }));
  const url = `http://127.0.0.1:${port}`;
  await listening(port, proc.pid!, () => proc.exitCode !== null || proc.signalCode !== null);
  return { name: options.name, proc, url };
}

/** Waits until something accepts connections on `port` (the server has read its config and bound). */
async function listening(port: number, pid: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited()) throw new Error(`process ${pid} exited before listening on ${port}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`nothing listens on ${port} 10 s after starting process ${pid}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const mapFile = (dir: string, name: string, lines: string[]): string => {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n', { mode: 0o600 });
  return path;
};

function writeNginx(dir: string, port: number, upstreamPort: number, keys: MappedKey[] | null, workers: number): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, t)};`).join('\n');
  // Two limit classes: each key is counted in the zone of its class, keyed by the key itself (an empty
  // key is not counted). nginx has one rate per zone, so per-key limits are classes of keys.
  const highLimit = 1_000_000;
  const features = keys
    ? `
  map $http_authorization $api_key { default ""; "~^Bearer (?<k>\\S+)$" $k; }
  map $api_key $app_id { default ""; include ${mapFile(
    dir,
    'key-apps.map',
    keys.map((k) => `${k.secret} ${k.appId};`),
  )}; }
  map $api_key $key_id { default ""; include ${mapFile(
    dir,
    'key-ids.map',
    keys.map((k) => `${k.secret} ${k.keyId};`),
  )}; }
  map $api_key $limit_high { default ""; include ${mapFile(
    dir,
    'key-high.map',
    keys.filter((k) => k.limit > CHECK_KEY_LIMIT).map((k) => `${k.secret} ${k.secret};`),
  )}; }
  map $api_key $limit_low { default ""; include ${mapFile(
    dir,
    'key-low.map',
    keys.filter((k) => k.limit <= CHECK_KEY_LIMIT).map((k) => `${k.secret} ${k.secret};`),
  )}; }
  limit_req_zone $limit_high zone=high:16m rate=${highLimit}r/s;
  limit_req_zone $limit_low zone=low:1m rate=${CHECK_KEY_LIMIT}r/s;
  limit_req_status 429;`
    : '';
  const location = keys
    ? `
      if ($app_id = "") { return 401; }
      limit_req zone=high burst=1000 nodelay;
      limit_req zone=low burst=5 nodelay;
      proxy_set_header Authorization "";
      proxy_set_header X-API-Key "";
      proxy_set_header X-Gatehouse-App $app_id;
      proxy_set_header X-Gatehouse-Key-Id $key_id;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;`
    : '';
  const conf = `worker_processes ${workers};
daemon off;
master_process on;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
${temp}
  keepalive_requests 1000000;
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }${features}
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {${location}
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  return mapFile(dir, 'nginx.conf', [conf]);
}

function writeHaproxy(dir: string, port: number, upstreamPort: number, keys: MappedKey[] | null, threads: number): string {
  // One map lookup gives app and key id ("app:keyid"); the limit comes from a second map, as an integer.
  const features = keys
    ? `
  http-request set-var(txn.key) req.hdr(authorization),regsub(^Bearer\\ ,)
  http-request set-var(txn.identity) var(txn.key),map(${mapFile(
    dir,
    'keys.map',
    keys.map((k) => `${k.secret} ${k.appId}:${k.keyId}`),
  )})
  http-request deny deny_status 401 unless { var(txn.identity) -m found }
  http-request track-sc0 var(txn.key) table keys_rate
  http-request set-var(txn.limit) var(txn.key),map_str_int(${mapFile(
    dir,
    'limits.map',
    keys.map((k) => `${k.secret} ${k.limit}`),
  )})
  http-request deny deny_status 429 if { sc_http_req_rate(0),sub(txn.limit) gt 0 }
  http-request del-header authorization
  http-request del-header x-api-key
  http-request set-header X-Gatehouse-App %[var(txn.identity),field(1,:)]
  http-request set-header X-Gatehouse-Key-Id %[var(txn.identity),field(2,:)]
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  option forwardfor`
    : '';
  const conf = `global
  nbthread ${threads}
  maxconn 4000

defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 60s

frontend fe
  bind 127.0.0.1:${port}${features}
  default_backend be

backend be
  server up 127.0.0.1:${upstreamPort}
${keys ? '\nbackend keys_rate\n  stick-table type string len 64 size 1m expire 10s store http_req_rate(1s)\n' : ''}`;
  return mapFile(dir, 'haproxy.cfg', [conf]);
}
