import { spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

// What the private servers of the tests (postgres.ts, redis.ts) share.

/**
 * Installs a Debian package when the tests need it and run as root (CI, a fresh machine); otherwise
 * says what to install. Never skips: a test that needs the server fails without it.
 */
export function aptInstall(pkg: string, neededBy: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${neededBy} need Debian's ${pkg} package: install it (apt-get install ${pkg}) or run the tests as root`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, stdio: 'inherit' });
  if (install.status !== 0) {
    // A fresh machine may have no package lists yet.
    spawnSync('apt-get', ['update'], { env, stdio: 'inherit' });
    install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, stdio: 'inherit' });
  }
  if (install.status !== 0) throw new Error(`apt-get install ${pkg} failed (exit ${install.status}): ${neededBy} need it`);
}

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

/** Stops a server process with `signal` (its fast, clean shutdown) and waits for it to exit. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
