import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
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
  await waitUntilReady(port, password, child, () => stderr);
  return {
    url,
    password,
    urlWithPassword,
    async pause() {
      await stopChild(child, 'SIGTERM');
    },
    async resume() {
      child = spawnServer();
      await waitUntilReady(port, password, child, () => stderr);
    },
    async stop() {
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls the server with a plain socket (AUTH, then PING) until it answers PONG. Not with a Redis
 * client: one that gives up while still connecting can reject a promise of its own after we are done.
 */
async function waitUntilReady(port: number, password: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}) before it was ready: ${log()}`);
    const answer = await ping(port, password);
    if (answer === 'PONG') return;
    if (Date.now() > deadline) throw new Error(`redis-server was not ready within 15 s (last answer: ${answer}); ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** 'PONG', or what went wrong instead (the socket's error, or the server's answer). */
function ping(port: number, password: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(`AUTH ${password}\r\nPING\r\n`));
    socket.setTimeout(1000, () => socket.destroy(new Error('no answer within 1 s')));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes('+PONG')) socket.end();
    });
    socket.on('error', (error: Error) => resolve(error.message));
    socket.on('close', () => resolve(answer.includes('+PONG') ? 'PONG' : answer.trim() || 'connection closed'));
  });
}
