import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AdminClient } from '../admin-client.ts';
import { asksForHelp, CommandError, UsageError, type Output } from '../output.ts';
import { ScanError, type Finding } from '../../scan/finding.ts';
import { isLive, jsonReport, sarifReport, textReport, type ScanReport, type SecretAction, type SecretStatus } from '../../scan/report.ts';
import { DEFAULT_MAX_FILE_BYTES, scanPaths, scanStagedChanges, type ScanResult } from '../../scan/scan.ts';

export const SCAN_USAGE = `usage: gatehouse scan [PATH...] [--staged] [--format text|json|sarif] [--output FILE] [--no-history]
                     [--include-node-modules] [--max-file-size BYTES] [--no-lookup] [--revoke] [--mark-exposed]
  finds Gatehouse secrets (API, publishable and admin keys, client secrets; checksum-verified) in files, and
  in every commit of a repository given by its top level (PATH defaults to .); --staged: only the staged changes.
  With GATEHOUSE_ADMIN_KEY (keys:read), each secret is looked up: key id, app, status. --revoke (keys:write)
  revokes each live key found; --mark-exposed records it exposed (source scanner, where path:line@commit).
  Exit codes: 0 nothing live found, 1 a live secret found (active, or not looked up), 2 usage or error.`;

const FORMATS = ['text', 'json', 'sarif'] as const;

/** As many secrets as POST /keys/lookup takes at once (LOOKUP_MAX_SECRETS). */
const LOOKUP_BATCH = 100;

interface ScanCommand {
  paths: string[];
  staged: boolean;
  format: (typeof FORMATS)[number];
  output: string | undefined;
  history: boolean;
  includeNodeModules: boolean;
  maxFileBytes: number;
  lookup: boolean;
  revoke: boolean;
  markExposed: boolean;
}

function parse(argv: string[], json: boolean): ScanCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        staged: { type: 'boolean' },
        format: { type: 'string' },
        output: { type: 'string' },
        'no-history': { type: 'boolean' },
        'include-node-modules': { type: 'boolean' },
        'max-file-size': { type: 'string' },
        'no-lookup': { type: 'boolean' },
        revoke: { type: 'boolean' },
        'mark-exposed': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${SCAN_USAGE}`);
  }
  const v = parsed.values;
  const format = v.format ?? (json ? 'json' : 'text');
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format is text, json or sarif\n${SCAN_USAGE}`);
  const maxFileBytes = v['max-file-size'] === undefined ? DEFAULT_MAX_FILE_BYTES : Number(v['max-file-size']);
  if (!Number.isInteger(maxFileBytes) || maxFileBytes < 1) throw new UsageError(`--max-file-size is a number of bytes\n${SCAN_USAGE}`);
  if (v.staged && parsed.positionals.length > 1) throw new UsageError(`--staged takes at most one PATH: the repository\n${SCAN_USAGE}`);
  if ((v.revoke || v['mark-exposed']) && v['no-lookup']) throw new UsageError(`--revoke and --mark-exposed need the lookup: drop --no-lookup`);
  return {
    paths: parsed.positionals.length ? parsed.positionals : ['.'],
    staged: v.staged ?? false,
    format: format as ScanCommand['format'],
    output: v.output,
    history: !v['no-history'],
    includeNodeModules: v['include-node-modules'] ?? false,
    maxFileBytes,
    lookup: !v['no-lookup'],
    revoke: v.revoke ?? false,
    markExposed: v['mark-exposed'] ?? false,
  };
}

/**
 * `gatehouse scan`: returns its exit code (0 nothing live, 1 a live secret, 2 usage or error), so a
 * failed lookup is told apart from a found secret.
 */
export async function runScan(argv: string[], env: NodeJS.ProcessEnv, client: () => AdminClient, out: Output): Promise<number> {
  if (asksForHelp(argv)) {
    process.stdout.write(`${SCAN_USAGE}\n`);
    return 0;
  }
  const command = parse(argv, out.json);
  const canLookUp = command.lookup && Boolean(env.GATEHOUSE_ADMIN_KEY);
  if ((command.revoke || command.markExposed) && !canLookUp) {
    throw new UsageError('--revoke and --mark-exposed act through the admin API: set GATEHOUSE_ADMIN_KEY (and GATEHOUSE_URL)');
  }
  try {
    const result: ScanResult = command.staged
      ? await scanStagedChanges(command.paths[0]!)
      : await scanPaths(command.paths, { history: command.history, includeNodeModules: command.includeNodeModules, maxFileBytes: command.maxFileBytes });
    const admin = canLookUp ? client() : null;
    const statuses = admin
      ? await lookUp(admin, result.findings)
      : notLookedUp(result.findings, command.lookup ? 'no admin key (set GATEHOUSE_ADMIN_KEY)' : '--no-lookup');
    const actions = admin ? await act(admin, result.findings, statuses, command) : new Map<string, SecretAction[]>();
    const report: ScanReport = { ...result, statuses, actions };
    const text = command.format === 'json' ? jsonReport(report) : command.format === 'sarif' ? sarifReport(report, version()) : textReport(report);
    if (command.output) {
      await writeFile(command.output, text).catch((error: Error) => {
        throw new ScanError(`cannot write ${command.output}: ${error.message}`);
      });
    } else process.stdout.write(text);
    // Every distinct secret has a status (looked up or not): live unless a lookup showed otherwise.
    return [...statuses.values()].some(isLive) ? 1 : 0;
  } catch (error) {
    if (error instanceof ScanError || error instanceof CommandError) {
      out.error(error.message, error instanceof CommandError ? error.details : undefined);
      return 2;
    }
    throw error;
  }
}

/** Each distinct secret once, in the order first found. */
function distinct(findings: readonly Finding[]): Finding[] {
  const seen = new Map<string, Finding>();
  for (const f of findings) if (!seen.has(f.match.fingerprint)) seen.set(f.match.fingerprint, f);
  return [...seen.values()];
}

function notLookedUp(findings: readonly Finding[], reason: string): Map<string, SecretStatus> {
  return new Map(distinct(findings).map((f) => [f.match.fingerprint, { lookup: 'not-looked-up', reason }]));
}

interface ExposureAnswer {
  step: { action: 'flag' | 'disable' | 'revoke-and-replace' | 'revoke'; why: string };
  replacementId: string | null;
}

interface LookupItem {
  lookedUp: boolean;
  found: boolean;
  keyId?: string;
  appId?: string;
  status?: 'active' | 'disabled' | 'expired' | 'revoked';
}

/** POST /keys/lookup in batches: the secrets travel in the body, over the admin API's transport, never in a URL. */
async function lookUp(client: AdminClient, findings: readonly Finding[]): Promise<Map<string, SecretStatus>> {
  const secrets = distinct(findings);
  const statuses = new Map<string, SecretStatus>();
  for (let i = 0; i < secrets.length; i += LOOKUP_BATCH) {
    const batch = secrets.slice(i, i + LOOKUP_BATCH);
    const answer = (await client.request('POST', '/keys/lookup', { secrets: batch.map((f) => f.match.secret) })) as { items: LookupItem[] };
    batch.forEach((f, j) => {
      const item = answer.items[j];
      const status: SecretStatus = !item?.lookedUp
        ? { lookup: 'not-looked-up', reason: 'the admin API did not look it up' }
        : item.found
          ? { lookup: 'found', keyId: item.keyId!, appId: item.appId ?? null, status: item.status! }
          : { lookup: 'unknown' };
      statuses.set(f.match.fingerprint, status);
    });
  }
  return statuses;
}

/** --mark-exposed, then --revoke, for each live API or publishable key found; the first place it was found names where. */
async function act(
  client: AdminClient,
  findings: readonly Finding[],
  statuses: ReadonlyMap<string, SecretStatus>,
  command: ScanCommand,
): Promise<Map<string, SecretAction[]>> {
  const actions = new Map<string, SecretAction[]>();
  if (!command.revoke && !command.markExposed) return actions;
  for (const f of distinct(findings)) {
    const status = statuses.get(f.match.fingerprint);
    if (status?.lookup !== 'found' || status.status !== 'active') continue;
    const done: SecretAction[] = [];
    const where = f.source === 'history' ? `${f.path}:${f.match.line}@${f.commit}` : `${f.path}:${f.match.line}${f.source === 'staged' ? ' (staged)' : ''}`;
    const attempt = async (action: SecretAction['action'], call: () => Promise<string | null>) => {
      if (f.match.kind === 'admin' || f.match.kind === 'clientSecret') {
        const how = f.match.kind === 'admin' ? 'gatehouse admin-keys revoke ID' : 'gatehouse clients rotate-secret ID';
        return done.push({ action, keyId: status.keyId, error: `not done for ${f.match.kind === 'admin' ? 'an admin key' : 'a client secret'}: use ${how}` });
      }
      try {
        done.push({ action, keyId: status.keyId, error: null, detail: await call() });
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        done.push({ action, keyId: status.keyId, error: error.message });
      }
    };
    // The exposure policy may revoke the key itself (revoke-and-replace): then there is nothing left for --revoke.
    let revokedByPolicy = false;
    if (command.markExposed) {
      const since = f.committedAt ? new Date(f.committedAt).toISOString() : null;
      await attempt('marked-exposed', async () => {
        const answer = (await client.request('POST', `/keys/${status.keyId}/exposed`, { source: 'scanner', where, since })) as ExposureAnswer;
        revokedByPolicy = answer.step.action === 'revoke' || answer.step.action === 'revoke-and-replace';
        return `${answer.step.action} (${answer.step.why})${answer.replacementId ? `; replacement ${answer.replacementId}` : ''}`;
      });
    }
    if (command.revoke && !revokedByPolicy)
      await attempt('revoked', async () => {
        await client.request('POST', `/keys/${status.keyId}/revoke`, { reason: `exposed in ${where}`.slice(0, 512) });
        return null;
      });
    actions.set(f.match.fingerprint, done);
  }
  return actions;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
