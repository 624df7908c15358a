import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');
export const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process with only the environment given (plus PATH and HOME). */
export function runCli(args: string[], env: Record<string, string | undefined>, input = ''): Promise<Run> {
  return run(NODE, [MAIN, ...args], env, input);
}

/** Runs a `sh -c` script, as a user's shell or a deploy script would. */
export function runShell(script: string, env: Record<string, string | undefined>, input = ''): Promise<Run> {
  return run('sh', ['-c', script], env, input);
}

function run(program: string, args: string[], env: Record<string, string | undefined>, input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), USER: 'cli-test' };
    for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
    const child = spawn(program, args, { cwd: ROOT, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

export function json(run: Run): any {
  assert.equal(run.code, 0, `exit ${run.code}; stderr: ${run.stderr}`);
  try {
    return JSON.parse(run.stdout);
  } catch {
    assert.fail(`stdout is not JSON: ${run.stdout}`);
  }
}
