import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { aptInstall, freePort, stopChild } from './servers.ts';

/**
 * A private Redis for one test process: Debian's redis-server (installed once when missing and
 * running as root) on a free loopback port, with a password, no persistence, in a temporary
 * directory. Tests never skip for want of it.
 */
export interface PrivateRedis {
  url: string;
  password: string;
  /** A connection string with the password, for tests' own clients. */
  urlWithPassword: string;
  /** Stops the server (an outage); `resume` starts it again on the same port, empty. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

const SERVER = '/usr/bin/redis-server';

export async function startRedis(): Promise<PrivateRedis> {
  if (!existsSync(SERVER)) aptInstall('redis-server', 'the Redis limiter and change-feed tests');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  const password = randomBytes(18).toString('base64url');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--requirepass', password];
  let stderr = '';
  const spawnServer = (): ChildProcess => {
    const server = spawn(SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    server.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    return server;
  };
  const url = `redis://127.0.0.1:${port}`;
  const urlWithPassword = `redis://:${password}@127.0.0.1:${port}`;
  let child = spawnServer();
  await waitUntilReady(urlWithPassword, child, () => stderr);
  return {
    url,
    password,
    urlWithPassword,
    async pause() {
      await stopChild(child, 'SIGTERM');
    },
    async resume() {
      child = spawnServer();
      await waitUntilReady(urlWithPassword, child, () => stderr);
    },
    async stop() {
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}) before it was ready: ${log()}`);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // connect() rejects with the same error that this event carries; the event only needs a listener.
    let lastError: unknown = null;
    client.on('error', (error: unknown) => (lastError = error));
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch (error) {
      client.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server was not ready within 15 s: ${String(error)} (${String(lastError)}); ${log()}`, { cause: error });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
