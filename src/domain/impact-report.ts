/**
 * The impact report of an incident (a leaked API key, a user's account, an OAuth client's secret):
 * what the credential did in a time window, from the request log, where the key was used from, the
 * tokens exchanged from it and the audit log. Pure: the service reads the store and hands the rows in;
 * this aggregates them and writes the Markdown a security team attaches to a breach notification.
 */

/** One request as the report reads it (a request-log entry's fields that matter here). */
export interface ImpactRequest {
  at: number;
  api: string | null;
  route: string | null;
  method: string;
  status: number;
  denialCode: string | null;
  bytesOut: number;
  address: string;
  userAgent: string | null;
  /** Set when an access token made the request (its client): for a key, a token exchanged from it. */
  clientId: string | null;
  user: string | null;
}

export interface ImpactToken {
  jti: string;
  clientId: string;
  audience: string;
  scope: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

export interface TimelineEvent {
  at: number;
  /** created, exposed (the secret known to be out since), detected (a report), disabled, enabled, revoked, compromised, replaced, rotated... */
  event: string;
  detail: string;
}

export interface ImpactInput {
  subject: { type: 'key' | 'user' | 'client'; id: string; name: string | null };
  now: number;
  /** The window: `since` included, `until` excluded. */
  since: number;
  until: number;
  /** The first exposure of the subject's secret (null: none reported); addresses first seen from then on are new. */
  exposedAt: number | null;
  /** The requests in the window, any order. */
  requests: readonly ImpactRequest[];
  /** More requests matched than the report reads: the figures are a lower bound. */
  requestsTruncated: boolean;
  /** Days before today the request log keeps (null: it is off). */
  requestLogDays: number | null;
  /** When each address was first seen for the subject, from its all-time record (key addresses); absent: not known. */
  firstSeen: ReadonlyMap<string, number> | null;
  /** Days an address unseen is kept in that record: a first sighting older than this may be forgotten. */
  firstSeenDays: number | null;
  tokens: readonly ImpactToken[] | null;
  timeline: readonly TimelineEvent[];
  /** What the stored data cannot tell for this kind of subject, said in the report. */
  missing: readonly string[];
}

const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : iso(ms));

export interface ImpactReport {
  subject: { type: 'key' | 'user' | 'client'; id: string; name: string | null };
  generatedAt: string;
  window: { since: string; until: string };
  /** The first exposure, and the timeline's milestones: null when not (yet) known. */
  milestones: { createdAt: string | null; exposedAt: string | null; detectedAt: string | null; containedAt: string | null };
  coverage: {
    /** `complete`: the log covers the window; `partial`: the window starts before the oldest day kept, or the reading was cut; `off`: no request log. */
    requestLog: 'complete' | 'partial' | 'off';
    /** The oldest time the request log can hold now. */
    requestLogFrom: string | null;
    truncated: boolean;
    notes: string[];
  };
  totals: {
    requests: number;
    /** Answered by the upstream (no denial by the gateway). */
    forwarded: number;
    denied: number;
    /** Response bytes sent to the client (forwarded answers and denials). */
    bytesOut: number;
    /** Bytes of successful (2xx) answers: the data that left. */
    bytesOut2xx: number;
    addresses: number;
    /** Addresses first seen for the subject at or after its exposure: null when there is no exposure or no record. */
    newAddresses: number | null;
    userAgents: number;
    firstRequestAt: string | null;
    lastRequestAt: string | null;
  };
  byApi: { api: string | null; requests: number; forwarded: number; denied: number; bytesOut: number }[];
  byRoute: { api: string | null; route: string | null; requests: number; bytesOut: number; statuses: Record<string, number> }[];
  byStatus: { status: number; requests: number }[];
  denials: { code: string; requests: number }[];
  addresses: {
    address: string;
    requests: number;
    denied: number;
    firstSeenAt: string;
    lastSeenAt: string;
    /** First seen for the subject ever (the all-time record), when known. */
    firstSeenEverAt: string | null;
    /** Never seen for the subject before its exposure: true, false, or null when that cannot be told. */
    newSinceExposure: boolean | null;
  }[];
  userAgents: { userAgent: string | null; requests: number; firstSeenAt: string; lastSeenAt: string }[];
  tokens: {
    exchanged: { jti: string; clientId: string; audience: string; scope: string; issuedAt: string; expiresAt: string; revokedAt: string | null }[];
    /** Requests made with access tokens (for a key: tokens exchanged from it), by client. */
    requestsByClient: { clientId: string; requests: number; denied: number; bytesOut: number; routes: string[] }[];
  } | null;
  timeline: { at: string; event: string; detail: string }[];
}

/** Counts into a map of rows, made on first sight. */
function tally<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let row = map.get(key);
  if (row === undefined) map.set(key, (row = make()));
  return row;
}

const byRequestsThen =
  <T extends { requests: number }>(name: (t: T) => string) =>
  (a: T, b: T) =>
    b.requests - a.requests || name(a).localeCompare(name(b));

export function buildImpactReport(input: ImpactInput): ImpactReport {
  const requests = input.requests.filter((r) => r.at >= input.since && r.at < input.until);
  const apis = new Map<string | null, ImpactReport['byApi'][number]>();
  const routes = new Map<string, ImpactReport['byRoute'][number]>();
  const statuses = new Map<number, number>();
  const denials = new Map<string, number>();
  const addresses = new Map<string, { requests: number; denied: number; first: number; last: number }>();
  const agents = new Map<string | null, { requests: number; first: number; last: number }>();
  const clients = new Map<string, { requests: number; denied: number; bytesOut: number; routes: Set<string> }>();
  let denied = 0;
  let bytesOut = 0;
  let bytesOut2xx = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const r of requests) {
    const isDenied = r.denialCode !== null;
    if (isDenied) denied++;
    bytesOut += r.bytesOut;
    if (r.status >= 200 && r.status < 300) bytesOut2xx += r.bytesOut;
    first = Math.min(first, r.at);
    last = Math.max(last, r.at);
    const api = tally(apis, r.api, () => ({ api: r.api, requests: 0, forwarded: 0, denied: 0, bytesOut: 0 }));
    api.requests++;
    api.bytesOut += r.bytesOut;
    if (isDenied) api.denied++;
    else api.forwarded++;
    const route = tally(routes, `${r.api}\u0000${r.route}`, () => ({
      api: r.api,
      route: r.route,
      requests: 0,
      bytesOut: 0,
      statuses: {} as Record<string, number>,
    }));
    route.requests++;
    route.bytesOut += r.bytesOut;
    route.statuses[String(r.status)] = (route.statuses[String(r.status)] ?? 0) + 1;
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (isDenied) denials.set(r.denialCode!, (denials.get(r.denialCode!) ?? 0) + 1);
    const address = tally(addresses, r.address, () => ({ requests: 0, denied: 0, first: r.at, last: r.at }));
    address.requests++;
    if (isDenied) address.denied++;
    address.first = Math.min(address.first, r.at);
    address.last = Math.max(address.last, r.at);
    const agent = tally(agents, r.userAgent, () => ({ requests: 0, first: r.at, last: r.at }));
    agent.requests++;
    agent.first = Math.min(agent.first, r.at);
    agent.last = Math.max(agent.last, r.at);
    if (r.clientId !== null) {
      const client = tally(clients, r.clientId, () => ({ requests: 0, denied: 0, bytesOut: 0, routes: new Set<string>() }));
      client.requests++;
      client.bytesOut += r.bytesOut;
      if (isDenied) client.denied++;
      if (r.route !== null) client.routes.add(r.route);
    }
  }

  const newness = (address: string, seenFirstInWindow: number): { ever: number | null; isNew: boolean | null } => {
    const ever = input.firstSeen?.get(address) ?? null;
    if (input.exposedAt === null) return { ever, isNew: null };
    // The all-time record first, else the window itself when it reaches back before the exposure.
    if (ever !== null) return { ever, isNew: ever >= input.exposedAt };
    if (input.since < input.exposedAt) return { ever, isNew: seenFirstInWindow >= input.exposedAt };
    return { ever, isNew: null };
  };
  const addressRows = [...addresses].map(([address, a]) => {
    const { ever, isNew } = newness(address, a.first);
    return {
      address,
      requests: a.requests,
      denied: a.denied,
      firstSeenAt: iso(a.first),
      lastSeenAt: iso(a.last),
      firstSeenEverAt: isoOrNull(ever),
      newSinceExposure: isNew,
    };
  });
  addressRows.sort(byRequestsThen((a) => a.address));
  const newAddresses =
    input.exposedAt === null || addressRows.some((a) => a.newSinceExposure === null) ? null : addressRows.filter((a) => a.newSinceExposure).length;

  // The oldest moment the log can hold: midnight UTC `requestLogDays` days before today (whole days are kept).
  const logFrom = input.requestLogDays === null ? null : Math.floor(input.now / DAY) * DAY - input.requestLogDays * DAY;
  const notes: string[] = [];
  if (logFrom === null) notes.push('The request log is off (requestLog.enabled: false): no request figures.');
  else if (input.since < logFrom)
    notes.push(
      `The window starts before the oldest request the log keeps (${iso(logFrom)}, requestLog.retentionDays ${input.requestLogDays}): requests before then are not counted.`,
    );
  if (input.requestsTruncated) notes.push(`Only the newest ${requests.length} requests were read: every figure is a lower bound; narrow the window.`);
  if (input.firstSeen !== null && input.firstSeenDays !== null && input.exposedAt !== null)
    notes.push(
      `"New since exposure" compares with where the key was used from, kept for ${input.firstSeenDays} days after an address's last use: an address unused for longer before the exposure counts as new.`,
    );
  notes.push(...input.missing);

  const timeline = [...input.timeline].sort((a, b) => a.at - b.at || a.event.localeCompare(b.event));
  const at = (event: string) => timeline.find((t) => t.event === event)?.at ?? null;
  const detectedAt = at('detected');
  const containedAt = timeline.find((t) => ['disabled', 'revoked', 'compromised'].includes(t.event) && (detectedAt === null || t.at >= detectedAt))?.at ?? null;

  return {
    subject: input.subject,
    generatedAt: iso(input.now),
    window: { since: iso(input.since), until: iso(input.until) },
    milestones: {
      createdAt: isoOrNull(at('created')),
      exposedAt: isoOrNull(input.exposedAt),
      detectedAt: isoOrNull(detectedAt),
      containedAt: isoOrNull(containedAt),
    },
    coverage: {
      requestLog: logFrom === null ? 'off' : input.since < logFrom || input.requestsTruncated ? 'partial' : 'complete',
      requestLogFrom: isoOrNull(logFrom),
      truncated: input.requestsTruncated,
      notes,
    },
    totals: {
      requests: requests.length,
      forwarded: requests.length - denied,
      denied,
      bytesOut,
      bytesOut2xx,
      addresses: addresses.size,
      newAddresses,
      userAgents: agents.size,
      firstRequestAt: requests.length ? iso(first) : null,
      lastRequestAt: requests.length ? iso(last) : null,
    },
    byApi: [...apis.values()].sort(byRequestsThen((a) => a.api ?? '')),
    byRoute: [...routes.values()].sort(byRequestsThen((r) => `${r.api} ${r.route}`)),
    byStatus: [...statuses].map(([status, n]) => ({ status, requests: n })).sort((a, b) => a.status - b.status),
    denials: [...denials].map(([code, n]) => ({ code, requests: n })).sort(byRequestsThen((d) => d.code)),
    addresses: addressRows,
    userAgents: [...agents]
      .map(([userAgent, a]) => ({ userAgent, requests: a.requests, firstSeenAt: iso(a.first), lastSeenAt: iso(a.last) }))
      .sort(byRequestsThen((a) => a.userAgent ?? '')),
    tokens:
      input.tokens === null
        ? null
        : {
            exchanged: [...input.tokens]
              .sort((a, b) => a.issuedAt - b.issuedAt || a.jti.localeCompare(b.jti))
              .map((t) => ({ ...t, issuedAt: iso(t.issuedAt), expiresAt: iso(t.expiresAt), revokedAt: isoOrNull(t.revokedAt) })),
            requestsByClient: [...clients]
              .map(([clientId, c]) => ({ clientId, requests: c.requests, denied: c.denied, bytesOut: c.bytesOut, routes: [...c.routes].sort() }))
              .sort(byRequestsThen((c) => c.clientId)),
          },
    timeline: timeline.map((t) => ({ at: iso(t.at), event: t.event, detail: t.detail })),
  };
}

/** Markdown table cells: pipes and line breaks would break the table; backticks keep values literal. */
const cell = (value: unknown): string =>
  value === null || value === undefined || value === ''
    ? '–'
    : String(value)
        .replace(/[|\\`*_[\]]/g, '\\$&')
        .replace(/</g, '&lt;')
        .replace(/[\r\n]+/g, ' ');
const code = (value: string | null): string => (value === null ? '–' : `\`${value.replace(/`/g, "'").replace(/[|\r\n]/g, ' ')}\``);
function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '_None._\n';
  return `| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`;
}
const bytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1_048_576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1_048_576).toFixed(1)} MiB`);

const SUBJECT_NAMES = { key: 'API key', user: 'User', client: 'OAuth client' } as const;

/** The report as a Markdown document: what, when, how many requests, which data routes, from where. */
export function impactMarkdown(r: ImpactReport): string {
  const t = r.totals;
  const m = r.milestones;
  const out: string[] = [];
  out.push(`# Incident impact report: ${SUBJECT_NAMES[r.subject.type]} ${code(r.subject.id)}${r.subject.name ? ` (${cell(r.subject.name)})` : ''}\n`);
  out.push(`Generated ${r.generatedAt} by Gatehouse. Window: ${r.window.since} to ${r.window.until}.\n`);
  out.push('## Summary\n');
  const summary = [
    `- Requests in the window: **${t.requests}** (${t.forwarded} forwarded to the API, ${t.denied} refused by the gateway), ${t.firstRequestAt ? `from ${t.firstRequestAt} to ${t.lastRequestAt}` : 'none'}.`,
    `- Data returned: ${bytes(t.bytesOut2xx)} in successful answers (${bytes(t.bytesOut)} in all answers).`,
    `- Client addresses: ${t.addresses}${t.newAddresses === null ? '' : `, of which **${t.newAddresses}** never used this credential before its exposure`}; user agents: ${t.userAgents}.`,
    `- Created: ${m.createdAt ?? '–'}; exposed: ${m.exposedAt ?? 'no exposure reported'}; detected: ${m.detectedAt ?? '–'}; contained: ${m.containedAt ?? 'not yet'}.`,
  ];
  if (r.tokens)
    summary.push(
      `- Access tokens exchanged for it: ${r.tokens.exchanged.length}; requests made with them: ${r.tokens.requestsByClient.reduce((n, c) => n + c.requests, 0)}.`,
    );
  const dataRoutes = r.byRoute.filter((x) => (x.statuses['200'] ?? 0) > 0 || Object.keys(x.statuses).some((s) => s.startsWith('2')));
  if (dataRoutes.length) summary.push(`- Routes that answered with data: ${dataRoutes.map((x) => `${code(x.api)} ${code(x.route)}`).join(', ')}.`);
  out.push(`${summary.join('\n')}\n`);
  out.push('## Timeline\n');
  out.push(
    table(
      ['time (UTC)', 'event', 'detail'],
      r.timeline.map((e) => [e.at, e.event, cell(e.detail)]),
    ),
  );
  out.push('\n## Requests by API and route\n');
  out.push(
    table(
      ['API', 'route', 'requests', 'bytes returned', 'statuses'],
      r.byRoute.map((x) => [
        code(x.api),
        code(x.route),
        String(x.requests),
        String(x.bytesOut),
        Object.entries(x.statuses)
          .map(([s, n]) => `${s}: ${n}`)
          .join(', '),
      ]),
    ),
  );
  out.push('\n## Requests by status\n');
  out.push(
    table(
      ['status', 'requests'],
      r.byStatus.map((s) => [String(s.status), String(s.requests)]),
    ),
  );
  out.push('\n## Refused requests by reason\n');
  out.push(
    table(
      ['code', 'requests'],
      r.denials.map((d) => [d.code, String(d.requests)]),
    ),
  );
  out.push('\n## Client addresses\n');
  out.push(
    table(
      ['address', 'requests', 'refused', 'first seen (window)', 'last seen (window)', 'first seen ever', 'new since exposure'],
      r.addresses.map((a) => [
        code(a.address),
        String(a.requests),
        String(a.denied),
        a.firstSeenAt,
        a.lastSeenAt,
        a.firstSeenEverAt ?? '–',
        a.newSinceExposure === null ? 'unknown' : a.newSinceExposure ? '**yes**' : 'no',
      ]),
    ),
  );
  out.push('\n## User agents\n');
  out.push(
    table(
      ['user agent', 'requests', 'first seen', 'last seen'],
      r.userAgents.map((u) => [code(u.userAgent), String(u.requests), u.firstSeenAt, u.lastSeenAt]),
    ),
  );
  if (r.tokens) {
    out.push('\n## Access tokens\n');
    out.push(
      table(
        ['token id (jti)', 'client', 'audience', 'scope', 'issued', 'expires', 'revoked'],
        r.tokens.exchanged.map((x) => [code(x.jti), code(x.clientId), code(x.audience), code(x.scope || null), x.issuedAt, x.expiresAt, x.revokedAt ?? '–']),
      ),
    );
    out.push('\nRequests made with access tokens, by client:\n\n');
    out.push(
      table(
        ['client', 'requests', 'refused', 'bytes returned', 'routes'],
        r.tokens.requestsByClient.map((c) => [
          code(c.clientId),
          String(c.requests),
          String(c.denied),
          String(c.bytesOut),
          c.routes.map((x) => code(x)).join(', '),
        ]),
      ),
    );
  }
  out.push('\n## Coverage and limits\n');
  out.push(`- Request log: ${r.coverage.requestLog}${r.coverage.requestLogFrom ? ` (it holds requests from ${r.coverage.requestLogFrom})` : ''}.\n`);
  for (const note of r.coverage.notes) out.push(`- ${note}\n`);
  return out.join('');
}
