import type { KeyKind } from '../domain/key-format.ts';
import { SECRET_KIND_NAMES } from '../domain/secret-scan.ts';
import { findingWhere, type Finding, type ScanStats } from './finding.ts';

/**
 * What a scan learnt about one secret: looked up through the admin API (with an admin key), or not.
 * `live` is what the exit code follows: active, or not shown to be otherwise.
 */
export type SecretStatus =
  | { lookup: 'found'; keyId: string; appId: string | null; status: 'active' | 'disabled' | 'expired' | 'revoked' }
  | { lookup: 'unknown' }
  | { lookup: 'not-looked-up'; reason: string };

export interface SecretAction {
  action: 'revoked' | 'marked-exposed';
  keyId: string;
  /** null when done; else why not (a refusal from the admin API). */
  error: string | null;
  /** What the exposure policy did with the report (`disable: the exposure policy for live keys`), a replacement's id. */
  detail?: string | null;
}

export interface ScanReport {
  findings: Finding[];
  stats: ScanStats;
  /** By fingerprint: each distinct secret's status, and what was done to it. */
  statuses: ReadonlyMap<string, SecretStatus>;
  actions: ReadonlyMap<string, SecretAction[]>;
}

/** A secret counts as live unless a lookup showed it is not: unknown to this Gatehouse, revoked, expired or disabled. */
export function isLive(status: SecretStatus | undefined): boolean {
  if (!status || status.lookup === 'not-looked-up') return true;
  return status.lookup === 'found' && status.status === 'active';
}

function statusText(status: SecretStatus | undefined): string {
  if (!status) return 'not looked up';
  switch (status.lookup) {
    case 'found':
      return `${status.status.toUpperCase()} ${status.keyId}${status.appId ? ` (app ${status.appId})` : ''}`;
    case 'unknown':
      return 'unknown to this Gatehouse';
    case 'not-looked-up':
      return `not looked up: ${status.reason}`;
  }
}

/** The JSON view of a finding: the secret's start and fingerprint, never the secret. */
function findingView(f: Finding, report: ScanReport) {
  const { match } = f;
  return {
    kind: match.kind,
    environment: match.environment,
    start: match.start,
    fingerprint: match.fingerprint,
    source: f.source,
    path: f.path,
    line: match.line,
    column: match.column,
    commit: f.commit,
    repository: f.repository,
    status: report.statuses.get(match.fingerprint) ?? null,
    live: isLive(report.statuses.get(match.fingerprint)),
  };
}

export function jsonReport(report: ScanReport): string {
  const distinct = [...new Set(report.findings.map((f) => f.match.fingerprint))];
  return `${JSON.stringify(
    {
      findings: report.findings.map((f) => findingView(f, report)),
      secrets: distinct.length,
      live: distinct.filter((fp) => isLive(report.statuses.get(fp))).length,
      actions: [...report.actions.values()].flat(),
      stats: report.stats,
    },
    null,
    2,
  )}\n`;
}

export function textReport(report: ScanReport): string {
  const lines = report.findings.map((f) => {
    const fp = f.match.fingerprint;
    const acted = (report.actions.get(fp) ?? []).map((a) => (a.error ? `${a.action} FAILED: ${a.error}` : a.detail ? `${a.action}: ${a.detail}` : a.action));
    return `${findingWhere(f)}  ${SECRET_KIND_NAMES[f.match.kind]} ${f.match.start}... ${fp}  ${statusText(report.statuses.get(fp))}${acted.length ? `  [${acted.join(', ')}]` : ''}`;
  });
  const distinct = new Set(report.findings.map((f) => f.match.fingerprint));
  const live = [...distinct].filter((fp) => isLive(report.statuses.get(fp))).length;
  const s = report.stats;
  const scanned = [`${s.files} files`, ...(s.blobs ? [`${s.blobs} git blobs`, `${s.commits} commits`] : [])].join(', ');
  const skipped = s.skippedBinary + s.skippedLarge ? ` (skipped: ${s.skippedBinary} binary, ${s.skippedLarge} too large)` : '';
  lines.push(
    report.findings.length === 0
      ? `no Gatehouse secrets found in ${scanned}${skipped}`
      : `${report.findings.length} findings of ${distinct.size} secrets (${live} live or not shown otherwise) in ${scanned}${skipped}`,
  );
  return `${lines.join('\n')}\n`;
}

/** One SARIF rule per kind of secret, in this order (results name them by index too). */
const RULE_KINDS: readonly KeyKind[] = ['api', 'publishable', 'admin', 'clientSecret'];
const ruleId = (kind: KeyKind) => `gatehouse/${SECRET_KIND_NAMES[kind].toLowerCase().replaceAll(' ', '-')}`;

/**
 * SARIF 2.1.0 (OASIS), as GitHub code scanning takes it: one rule per kind of secret, a result per
 * finding with its physical location (path relative to the repository root, region line and
 * columns), a partial fingerprint so an alert follows the secret across line moves, and
 * `security-severity` for the alert's severity. A history finding names its commit in the message
 * and properties: the file may no longer hold the secret.
 */
export function sarifReport(report: ScanReport, version: string): string {
  const rules = RULE_KINDS.map((kind) => ({
    id: ruleId(kind),
    name: `Gatehouse${SECRET_KIND_NAMES[kind].replace(/(?:^|\s)(\w)/g, (_m, c: string) => c.toUpperCase()).replaceAll(' ', '')}`,
    shortDescription: { text: `A Gatehouse ${SECRET_KIND_NAMES[kind]} is committed` },
    fullDescription: {
      text: `A well-formed Gatehouse ${SECRET_KIND_NAMES[kind]} (its checksum holds) is in the repository. Anyone who can read the repository, or its history, can use it.`,
    },
    help: {
      text: 'Revoke or rotate the key (gatehouse keys rotate ID, or gatehouse scan --revoke), then remove it from the file and from the history. See docs/scanning.md.',
      markdown:
        'Revoke or rotate the key (`gatehouse keys rotate ID`, or `gatehouse scan --revoke`), then remove it from the file; a secret stays in the history until that is rewritten. See docs/scanning.md.',
    },
    defaultConfiguration: { level: 'error' },
    properties: { tags: ['security', 'secret', 'external/cwe/cwe-798'], precision: 'very-high', 'security-severity': kind === 'publishable' ? '5.0' : '9.0' },
  }));
  const results = report.findings.map((f) => {
    const status = report.statuses.get(f.match.fingerprint);
    const kindIndex = RULE_KINDS.indexOf(f.match.kind);
    const where = f.source === 'history' ? ` (added in commit ${f.commit})` : f.source === 'staged' ? ' (staged)' : '';
    return {
      ruleId: ruleId(f.match.kind),
      ruleIndex: kindIndex,
      level: isLive(status) ? 'error' : 'note',
      message: {
        text: `Gatehouse ${SECRET_KIND_NAMES[f.match.kind]} ${f.match.start}... (${f.match.fingerprint})${where}: ${statusText(status)}`,
      },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: encodeURI(f.path), uriBaseId: '%SRCROOT%' },
            region: { startLine: f.match.line, startColumn: f.match.column, endLine: f.match.line, endColumn: f.match.column + f.match.secret.length },
          },
        },
      ],
      partialFingerprints: { 'gatehouseSecret/v1': f.match.fingerprint },
      properties: { source: f.source, commit: f.commit, start: f.match.start, live: isLive(status) },
    };
  });
  return `${JSON.stringify(
    {
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 'gatehouse-scan', semanticVersion: version, rules } },
          results,
          columnKind: 'utf16CodeUnits',
        },
      ],
    },
    null,
    2,
  )}\n`;
}
