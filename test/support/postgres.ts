import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { aptInstall, freePort, stopChild } from './servers.ts';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A private PostgreSQL for one test process: its own cluster in a temporary directory, listening on
 * a free loopback port with a random password, started from Debian's binaries (installed with
 * apt-get once when missing and running as root). Tests never skip for want of it: it starts or
 * the test fails, saying why.
 */
export interface PrivatePostgres {
  /** A connection string for the cluster's `gatehouse` database, password included. */
  url: string;
  /** The same without the password, as Gatehouse's store.url takes it, for a database of `createDatabase`. */
  urlWithoutPassword(database: string): string;
  password: string;
  /** Makes another database on the cluster (a test's own). */
  createDatabase(name: string): Promise<void>;
  /** Stops the server, keeping its data: an outage. */
  pause(): Promise<void>;
  /** Starts it again on the same port, with the same data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

const DEBIAN_BIN = '/usr/lib/postgresql';

export function postgresBinDir(): string {
  const fromEnv = process.env.GATEHOUSE_TEST_PG_BIN;
  if (fromEnv) return fromEnv;
  let found = newestDebianBin();
  if (!found) {
    aptInstall('postgresql', 'the PostgreSQL store tests');
    found = newestDebianBin();
  }
  if (!found) throw new Error(`no PostgreSQL server binaries under ${DEBIAN_BIN}: install Debian's postgresql package (or set GATEHOUSE_TEST_PG_BIN)`);
  return found;
}

function newestDebianBin(): string | null {
  if (!existsSync(DEBIAN_BIN)) return null;
  const versions = readdirSync(DEBIAN_BIN)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(DEBIAN_BIN, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(DEBIAN_BIN, versions[0]!, 'bin') : null;
}

export async function startPostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, password, { mode: 0o600 });
  // PostgreSQL refuses to run as root: as root, the cluster belongs to Debian's `postgres` user.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? userIds('postgres') : null;
  if (owner) for (const path of [dir, pwfile]) chownSync(path, owner.uid, owner.gid);
  // Started as that user directly (not through runuser, which would not pass on the stop signal).
  const as = owner ? { uid: owner.uid, gid: owner.gid, cwd: dir } : {};

  const initArgs = ['-D', data, '-U', 'gatehouse', '--pwfile', pwfile, '--auth', 'scram-sha-256', '-E', 'UTF8', '--no-sync'];
  const init = spawnSync(join(bin, 'initdb'), initArgs, { encoding: 'utf8', ...as });
  if (init.status !== 0) throw new Error(`initdb failed (exit ${init.status}): ${init.stderr}`);

  const port = await freePort();
  // Durability is not what these tests check: no fsync makes a cluster per test file cheap.
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ];
  let stderr = '';
  const spawnServer = (): ChildProcess => {
    const server = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...as });
    server.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    return server;
  };
  let child = spawnServer();
  const base = `postgres://gatehouse:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  try {
    await waitUntilReady(`${base}/postgres`, child, () => stderr);
    const admin = new pg.Client({ connectionString: `${base}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE gatehouse');
    await admin.end();
  } catch (error) {
    await stopChild(child, 'SIGINT');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `${base}/gatehouse`,
    urlWithoutPassword: (database) => `postgres://gatehouse@127.0.0.1:${port}/${database}`,
    password,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error('a database name of lower-case letters, digits and _');
      const admin = new pg.Client({ connectionString: `${base}/postgres` });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
    },
    async pause() {
      await stopChild(child, 'SIGINT');
    },
    async resume() {
      child = spawnServer();
      await waitUntilReady(`${base}/postgres`, child, () => stderr);
    },
    async stop() {
      await stopChild(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error(`no ${name} user to run PostgreSQL as (Debian's postgresql package makes it)`);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}) before it was ready: ${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres was not ready within 30 s: ${String(error)}; ${log()}`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
