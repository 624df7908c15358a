#!/bin/sh
//bin/sh -c :; export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"; exec node --max-semi-space-size=8 "$0" "$@"
// The line above is sh's (a comment to Node): `env -S NAME=value` on a #! line overrode an operator's
// MALLOC_ARENA_MAX, and a #! line cannot say "unless set"; sh can, and then execs the first node on PATH.
// It starts with the one program every system running it has, /bin/sh (macOS and NixOS have no
// /bin/true), and not with sh's own `:`, which Prettier would end with a `;` that sh then runs `//` after.
// The `gatehouse` command as npm installs it (package.json "bin"). Plain JavaScript, so that any Node
// can read it: the CLI itself is TypeScript, which Node runs directly from 22.18 on (type stripping
// on by default). On an older Node this runs the CLI with the Node the package pins as a
// devDependency; without one, it says what is needed and exits 1.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The package root from this file's own (symlink-resolved) location, never from the working directory.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const MINIMUM = [22, 18];
/**
 * Node options for every run, also on the sh line above (which cannot read this): every thread's
 * young generation at most 2 x 8 MB. V8 reads it only as the thread starts, so the CLI cannot set it
 * itself; left to V8, a busy thread's grows to 128 MB (docs/architecture.md, "Memory per hot key").
 */
const NODE_FLAGS = ['--max-semi-space-size=8'];
/**
 * The environment for every run, also on the sh line: glibc's malloc arenas, two instead of one per
 * thread (8 per core), so that memory freed by one of the gateway's threads is reused by the others
 * instead of staying in the RSS (docs/architecture.md, "Memory per hot key"). A value already set wins.
 */
const ENVIRONMENT = { MALLOC_ARENA_MAX: '2' };

const [major, minor] = process.versions.node.split('.').map(Number);
if (major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1])) {
  await import(pathToFileURL(MAIN).href);
} else {
  const node = pinnedNode();
  if (node === null) {
    process.stderr.write(
      `gatehouse: needs Node.js ${MINIMUM.join('.')} or later, and this is ${process.version}; install a newer Node, or run npm install in ${ROOT} to get the Node it pins\n`,
    );
    process.exit(1);
  }
  runWith(node);
}

/** The `node` devDependency's binary, resolved from the package root. */
function pinnedNode() {
  const candidates = [join(ROOT, 'node_modules', '.bin', 'node')];
  try {
    candidates.unshift(createRequire(join(ROOT, 'package.json')).resolve('node/bin/node'));
  } catch {
    // Not installed (a production install has no devDependencies): the .bin link may still exist.
  }
  return candidates.find((file) => existsSync(file)) ?? null;
}

/**
 * Runs the CLI with `node`, passing stdio, the exit code and a terminating signal through. Signals
 * sent to this process are forwarded, so `kill` of this pid stops a server started through it.
 */
function runWith(node) {
  // Listening before the spawn: until a listener exists a signal takes its default action at once, and
  // the spawn returns only after the CLI has started, so one sent then would end this process alone and
  // leave the CLI running. A signal is handled after this synchronous step, when `child` is set.
  let child;
  const forward = (signal) => child.kill(signal);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, forward);
  child = spawn(node, [...NODE_FLAGS, MAIN, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...ENVIRONMENT, ...process.env } });
  child.on('error', (error) => {
    process.stderr.write(`gatehouse: cannot run ${node}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
