import type { AuditEntry } from '../../domain/entities.ts';
import { buildImpactReport, impactMarkdown, type ImpactReport, type ImpactRequest, type ImpactToken, type TimelineEvent } from '../../domain/impact-report.ts';
import type { ExchangedToken, RequestLogFilters } from '../../store/port.ts';
import { ControlError, requireFound, type ControlContext } from '../context.ts';
import { pointInTime } from './request-log.ts';

/** Requests one report reads at most (newest first): past it the report says its figures are a lower bound. */
export const MAX_REPORT_REQUESTS = 200_000;
const PAGE = 1000;
/** Audit entries of one kind read for a timeline at most (newest first). */
const MAX_AUDIT = 1000;
/** Exchanged tokens listed at most. */
const MAX_TOKENS = 10_000;

export interface ImpactQuery {
  since?: string | undefined;
  until?: string | undefined;
}

export const MARKDOWN = 'text/markdown';

/** Markdown when asked for by `format` or before JSON in Accept. */
export function wantsMarkdown(format: 'json' | 'markdown' | undefined, accept: string): boolean {
  if (format !== undefined) return format === 'markdown';
  for (const part of accept.split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type === MARKDOWN) return true;
    if (type === 'application/json') return false;
  }
  return false;
}

/** The report as a Markdown document (an attachment named after the subject). */
export function markdownResponse(report: ImpactReport): Response {
  return new Response(impactMarkdown(report), {
    status: 200,
    headers: {
      'content-type': `${MARKDOWN}; charset=utf-8`,
      'content-disposition': `attachment; filename="impact-${report.subject.type}-${report.subject.id}.md"`,
    },
  });
}

/**
 * Impact reports (domain/impact-report.ts): the store reads behind them. The request log's reads go to
 * its reader thread a page at a time; usage not yet flushed is flushed first (key addresses).
 */
export const impactReportService = {
  /**
   * A key: its requests (the request log, by key id: its own and those of tokens exchanged from it),
   * where it was used from (key addresses, for "new since the exposure"), the tokens exchanged from
   * it, and its timeline from the audit log. Default window: from the first exposure (the time the
   * secret is known to have been out, else the first report), else the key's creation, to now.
   */
  async key(ctx: ControlContext, id: string, query: ImpactQuery): Promise<ImpactReport> {
    const key = requireFound(await ctx.store.keys.get(id), 'key', id);
    const now = ctx.clock();
    const actions = ['key.exposed', 'key.disabled', 'key.enabled', 'key.revoked', 'key.compromised', 'key.rotated'];
    const entries = (await Promise.all(actions.map((action) => auditOf(ctx, key.id, action)))).flat();
    const timeline: TimelineEvent[] = [{ at: key.createdAt, event: 'created', detail: `${key.environment} key ${key.start}… of app ${key.appId}` }];
    if (key.rotatedFrom) timeline.push({ at: key.createdAt, event: 'replaced', detail: `replaces key ${key.rotatedFrom}` });
    let exposedAt: number | null = null;
    for (const e of entries) {
      const after = (e.after ?? {}) as Record<string, unknown>;
      switch (e.action) {
        case 'key.exposed': {
          const x = (after.exposure ?? {}) as { source?: string; where?: string | null; at?: string; since?: string | null; action?: string; why?: string };
          // The report's own time (the key's exposedAt for the first), else its audit entry's.
          const reported = typeof x.at === 'string' ? Date.parse(x.at) : e.at;
          const since = typeof x.since === 'string' ? Date.parse(x.since) : null;
          exposedAt = Math.min(exposedAt ?? Infinity, since ?? reported);
          if (since !== null && since < reported)
            timeline.push({ at: since, event: 'exposed', detail: `the secret was out from then on (reported by ${x.source})` });
          timeline.push({
            at: reported,
            event: 'detected',
            detail: `reported exposed by ${x.source ?? 'unknown'}${x.where ? ` (${x.where})` : ''}; action: ${x.action ?? 'flag'}${x.why ? ` (${x.why})` : ''}; by ${e.actor}`,
          });
          if (x.action === 'disable') timeline.push({ at: reported, event: 'disabled', detail: 'disabled by the exposure policy' });
          break;
        }
        case 'key.compromised': {
          const c = (after.compromise ?? {}) as { reason?: string; replacement?: { id: string } | null; revokedTokens?: string[] };
          timeline.push({
            at: e.at,
            event: 'compromised',
            detail: `revoked as compromised by ${e.actor}: ${c.reason ?? ''}; ${c.revokedTokens?.length ?? 0} exchanged token(s) revoked; ${c.replacement ? `replacement ${c.replacement.id}` : 'no replacement (a successor exists)'}`,
          });
          break;
        }
        case 'key.revoked':
          timeline.push({
            at: e.at,
            event: 'revoked',
            detail: `revoked by ${e.actor}${typeof after.revokedReason === 'string' ? `: ${after.revokedReason}` : ''}`,
          });
          break;
        case 'key.rotated':
          timeline.push({
            at: e.at,
            event: 'rotated',
            detail: `rotated by ${e.actor}; it works until ${String((after.previous as { expiresAt?: unknown } | undefined)?.expiresAt ?? '?')}`,
          });
          break;
        default:
          timeline.push({ at: e.at, event: e.action.slice('key.'.length), detail: `by ${e.actor}` });
      }
    }
    // exposedAt without a report: flagged before reports were audited as key.exposed.
    if (exposedAt === null && key.exposedAt) {
      exposedAt = key.exposedAt;
      timeline.push({ at: key.exposedAt, event: 'detected', detail: 'flagged as exposed' });
    }
    const { since, until } = window(query, exposedAt ?? key.createdAt, now);
    await ctx.usage.flush();
    const [read, firstSeen, tokens] = await Promise.all([readRequests(ctx, { keyId: key.id, since, until }), firstSeenOf(ctx, key.id), tokensOf(ctx, key.id)]);
    return buildImpactReport({
      subject: { type: 'key', id: key.id, name: key.name },
      now,
      since,
      until,
      exposedAt,
      ...read,
      requestLogDays: ctx.incidents.requestLogDays,
      firstSeen,
      firstSeenDays: ctx.incidents.keyAddressDays,
      tokens,
      timeline,
      missing: [
        'Requests with a token exchanged from the key are counted by client (the request log does not record which token); an exchanged token refused after its revocation is logged without the key.',
      ],
    });
  },

  /**
   * A user: requests made with their access tokens (the request log, by subject), sign-ins and other
   * account events (audit log), their live grants and sessions. Default window: the user's creation to now.
   */
  async user(ctx: ControlContext, id: string, query: ImpactQuery): Promise<ImpactReport> {
    const user = requireFound(await ctx.store.users.get(id), 'user', id);
    const now = ctx.clock();
    const { since, until } = window(query, user.createdAt, now);
    const entries = await auditOf(ctx, user.id, undefined, since);
    const timeline: TimelineEvent[] = [{ at: user.createdAt, event: 'created', detail: `user ${user.username}` }];
    for (const e of entries)
      if (e.at >= since && e.at < until && e.action !== 'user.created')
        timeline.push({ at: e.at, event: e.action.replace(/^user\./, ''), detail: auditDetail(e) });
    const missing = [
      'Access tokens are JWTs and are not stored: requests made with them are counted by client; grants and sessions are listed as they are now (revoked ones are gone).',
    ];
    if (ctx.identity) {
      const records = ctx.identity.oidcRecords;
      const [grants, sessions] = await Promise.all([records.listByAccount('Grant', user.id, now), records.listByAccount('Session', user.id, now)]);
      for (const g of grants)
        timeline.push({
          at: seconds(g.payload.iat) ?? now,
          event: 'grant',
          detail: `grant ${g.ref} to client ${String(g.payload.clientId)} (${grantStanding(g.payload.exp, now)})`,
        });
      for (const s of sessions)
        timeline.push({ at: seconds(s.payload.loginTs) ?? now, event: 'session', detail: `session ${String(s.payload.uid ?? '')} (live now)` });
    } else missing.push('The authorization server is off (no master key): no grants or sessions.');
    const read = await readRequests(ctx, { user: user.id, since, until });
    return buildImpactReport({
      subject: { type: 'user', id: user.id, name: user.username },
      now,
      since,
      until,
      exposedAt: null,
      ...read,
      requestLogDays: ctx.incidents.requestLogDays,
      firstSeen: null,
      firstSeenDays: null,
      tokens: null,
      timeline,
      missing,
    });
  },

  /**
   * An OAuth client: requests made with tokens issued to it (the request log, by client id) and its
   * history (created, secret rotations, changes: audit log). Default window: its creation to now.
   */
  async client(ctx: ControlContext, id: string, query: ImpactQuery): Promise<ImpactReport> {
    const client = requireFound(await ctx.store.clients.get(id), 'client', id);
    const now = ctx.clock();
    const { since, until } = window(query, client.createdAt, now);
    const entries = await auditOf(ctx, client.id, undefined, since);
    const timeline: TimelineEvent[] = [{ at: client.createdAt, event: 'created', detail: `client ${client.name}` }];
    for (const e of entries)
      if (e.at >= since && e.at < until && e.action !== 'client.created')
        timeline.push({ at: e.at, event: e.action.replace(/^client\./, ''), detail: auditDetail(e) });
    const read = await readRequests(ctx, { clientId: client.id, since, until });
    return buildImpactReport({
      subject: { type: 'client', id: client.id, name: client.name },
      now,
      since,
      until,
      exposedAt: null,
      ...read,
      requestLogDays: ctx.incidents.requestLogDays,
      firstSeen: null,
      firstSeenDays: null,
      tokens: null,
      timeline,
      missing: [
        "Uses of the client's secret at the token endpoint are not recorded, nor the tokens it was issued (JWTs are not stored; grants are kept by user, not by client): the requests are those made at the gateway with its tokens.",
      ],
    });
  },
};

function window(query: ImpactQuery, defaultSince: number, now: number): { since: number; until: number } {
  const since = query.since === undefined ? defaultSince : pointInTime(query.since, now);
  const until = query.until === undefined ? now + 1 : pointInTime(query.until, now);
  if (since >= until) throw new ControlError('VALIDATION_FAILED', 'the time range is empty', { 'query.until': 'must be after since' });
  return { since, until };
}

/** The request log's entries for the filters, newest first, a page at a time, at most MAX_REPORT_REQUESTS. */
async function readRequests(ctx: ControlContext, filters: RequestLogFilters): Promise<{ requests: ImpactRequest[]; requestsTruncated: boolean }> {
  const requests: ImpactRequest[] = [];
  if (ctx.incidents.requestLogDays === null) return { requests, requestsTruncated: false };
  let cursor: string | undefined;
  do {
    const page = await ctx.requestLog.query(filters, { limit: PAGE, cursor });
    for (const e of page.items)
      requests.push({
        at: e.at,
        api: e.api,
        route: e.route,
        method: e.method,
        status: e.status,
        denialCode: e.denialCode,
        bytesOut: e.bytesOut,
        address: e.address,
        userAgent: e.userAgent,
        clientId: e.clientId,
        user: e.user,
      });
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && requests.length < MAX_REPORT_REQUESTS);
  return { requests, requestsTruncated: cursor !== undefined };
}

/** Audit entries of a target (one action, or all), newest first, at most MAX_AUDIT; with `since`, none older. */
async function auditOf(ctx: ControlContext, targetId: string, action?: string, since?: number): Promise<AuditEntry[]> {
  const found: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.store.audit.list({ targetId, action, limit: 200, cursor });
    for (const e of page.items) {
      if (since !== undefined && e.at < since) return found;
      found.push(e);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && found.length < MAX_AUDIT);
  return found;
}

/** Where the key was used from, all time (what the store keeps): address to first seen. */
async function firstSeenOf(ctx: ControlContext, keyId: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  let cursor: string | undefined;
  do {
    const page = await ctx.store.keyAddresses.list(keyId, { limit: 1000, cursor });
    for (const use of page.items) seen.set(use.address, use.firstSeen);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return seen;
}

async function tokensOf(ctx: ControlContext, keyId: string): Promise<ImpactToken[]> {
  const tokens: ExchangedToken[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.store.exchangedTokens.listByKey(keyId, { limit: 1000, cursor });
    tokens.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && tokens.length < MAX_TOKENS);
  return tokens.map(({ keyId: _key, ...t }) => t);
}

const seconds = (v: unknown): number | null => (typeof v === 'number' ? v * 1000 : null);

/** One line for an audit entry in a timeline: who, and the few fields that say what (never a secret: audit entries hold none). */
function auditDetail(e: AuditEntry): string {
  const after = e.after && typeof e.after === 'object' ? (e.after as Record<string, unknown>) : {};
  const facts = ['reason', 'amr', 'client_id', 'clientId', 'name', 'disabled']
    .filter((k) => after[k] !== undefined)
    .map((k) => `${k}: ${JSON.stringify(after[k])}`)
    .join(', ');
  return `by ${e.actor}${facts ? `; ${facts}` : ''}`;
}

/** A grant past its end is kept (and listed, and revocable) while access tokens issued under it may live. */
const grantStanding = (exp: unknown, now: number): string =>
  typeof exp === 'number' && exp * 1000 <= now ? `ended ${new Date(exp * 1000).toISOString()}; its access tokens may still work` : 'live now';
