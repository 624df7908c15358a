import { withoutSecrets } from '../domain/secret-redaction.ts';

/**
 * How a command reports: JSON for scripts (--json), short text for people. Errors go to stderr, with
 * every secret-shaped part replaced: an error quotes what it was given (the admin API's detail, a name
 * typed on the command line, GATEHOUSE_URL, a library's message about its input), and stderr lands in
 * terminals and CI logs. Results (stdout) are left as they are: a new key or secret is shown there
 * once, on purpose.
 */
export interface Output {
  json: boolean;
  result(value: unknown, text: () => string): void;
  error(message: string, details?: unknown): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(value, text) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
    },
    error(message, details) {
      // Each string cleaned before it is serialized: inside JSON, an escape (`\n`) glued to a secret hides where its word starts.
      if (json) process.stderr.write(`${JSON.stringify({ error: cleaned(message), ...(details ? { details: cleaned(details) } : {}) })}\n`);
      else process.stderr.write(`gatehouse: ${cleaned(message)}\n`);
    },
  };
}

/** A value with every string in it passed through the secret-shape rule (domain/secret-redaction.ts). */
function cleaned<T>(value: T): T {
  if (typeof value === 'string') return withoutSecrets(value, '[Redacted]') as T;
  if (Array.isArray(value)) return value.map(cleaned) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cleaned(v)])) as T;
  return value;
}

/**
 * `--help` (or `-h`) before any `--`: the command prints its usage and does nothing else, whatever
 * else its command line holds (`migrate --help` must not migrate, `demo --help` must not start).
 */
export function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** Thrown with a command's usage when it was asked for (`--help`): printed on stdout, exit 0. */
export class HelpRequest extends Error {
  override readonly name = 'HelpRequest';
}

/** Exit codes: 0 done, 1 refused or failed, 2 the command line itself is wrong. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly details: unknown;
  constructor(message: string, details?: unknown) {
    super(message);
    this.details = details;
  }
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) =>
    columns.map((c) => (r[c] === null || r[c] === undefined ? '-' : typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c]))),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}
