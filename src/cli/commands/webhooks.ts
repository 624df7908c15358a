import type { AdminClient } from '../admin-client.ts';
import { table, UsageError } from '../output.ts';
import { crud, csv, defined, num, PAGE_FLAGS, query, type Flags, type Verb } from './resources.ts';

/** `gatehouse webhooks ...`: endpoints, their delivery log, replay and a test send (docs/webhooks.md). */

const id = (value: string) => encodeURIComponent(value);

const flags = {
  url: { type: 'string' },
  events: { type: 'string' },
  description: { type: 'string' },
  data: { type: 'string' },
} as const;
const body = (_c: AdminClient, f: Flags) => defined({ url: f.url, events: csv(f.events), description: f.description });

const secretText = (r: any) => `webhook ${r.id} -> ${r.url}. The signing secret is shown once; store it now:\n${r.secret}`;
const endpoints = crud('/webhooks', ['id', 'url', 'events', 'enabled', 'consecutiveFailures', 'disabledReason'], flags, body);

/** `1h`, `30m`, `2d` ago, or an RFC 3339 time. */
function since(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (!relative) return value;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
  return new Date(Date.now() - Number(relative[1]) * unit).toISOString();
}

export const WEBHOOK_GROUPS: Record<string, Record<string, Verb>> = {
  webhooks: {
    ...endpoints,
    create: {
      usage: 'create --url URL --events key.created,key.revoked [--description D]',
      flags,
      run: async (c, _a, f) => {
        if (typeof f.url !== 'string' || !f.events) throw new UsageError('webhooks create needs --url and --events');
        return endpoints.create!.run(c, [], f);
      },
      text: secretText,
    },
    update: { ...endpoints.update!, usage: 'update ID [--url URL] [--events a,b] [--description D] [--data JSON]' },
    disable: {
      usage: 'disable ID [--reason R]',
      flags: { reason: { type: 'string' } },
      positionals: 1,
      run: (c, [hook], f) => c.request('PATCH', `/webhooks/${id(hook!)}`, defined({ enabled: false, disabledReason: f.reason })),
      text: (r) => `${r.id} is disabled: ${r.disabledReason}`,
    },
    enable: {
      usage: 'enable ID (also after a run of failures: its pending deliveries resume)',
      positionals: 1,
      run: (c, [hook]) => c.request('PATCH', `/webhooks/${id(hook!)}`, { enabled: true }),
      text: (r) => `${r.id} is enabled`,
    },
    'rotate-secret': {
      usage: 'rotate-secret ID [--overlap SECONDS] (the old secret keeps signing beside the new one for the overlap)',
      flags: { overlap: { type: 'string' } },
      positionals: 1,
      run: (c, [hook], f) => c.request('POST', `/webhooks/${id(hook!)}/rotate-secret`, defined({ overlapSeconds: num('overlap', f.overlap) })),
      text: secretText,
    },
    deliveries: {
      usage:
        'deliveries ID [--status pending|delivered|failed] [--event EVENT_ID] [--limit N] [--cursor C] | deliveries ID --delivery DELIVERY_ID (its attempts)',
      flags: { ...PAGE_FLAGS, status: { type: 'string' }, event: { type: 'string' }, delivery: { type: 'string' } },
      positionals: 1,
      run: (c, [hook], f) =>
        typeof f.delivery === 'string'
          ? c.request('GET', `/webhooks/${id(hook!)}/deliveries/${id(f.delivery)}`)
          : c.request('GET', `/webhooks/${id(hook!)}/deliveries${query({ status: f.status, eventId: f.event, limit: f.limit, cursor: f.cursor })}`),
      text: (r) =>
        r.attemptLog
          ? `${r.id} ${r.eventType} ${r.status} after ${r.attempts} attempts\n${table(r.attemptLog, ['at', 'statusCode', 'error', 'durationMs', 'responseExcerpt'])}`
          : table(r.items, ['id', 'eventType', 'eventId', 'status', 'attempts', 'lastAttemptAt', 'nextAttemptAt']) +
            (r.nextCursor ? `\n(more: --cursor ${r.nextCursor})` : ''),
    },
    replay: {
      usage: 'replay ID --delivery DELIVERY_ID | replay ID --since 24h|TIME [--until TIME] (every event of its types in the range)',
      flags: { delivery: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' } },
      positionals: 1,
      run: (c, [hook], f) => {
        if (typeof f.delivery === 'string') return c.request('POST', `/webhooks/${id(hook!)}/deliveries/${id(f.delivery)}/replay`);
        if (typeof f.since !== 'string') throw new UsageError('webhooks replay needs a DELIVERY_ID or --since');
        return c.request('POST', `/webhooks/${id(hook!)}/replay`, defined({ since: since(f.since), until: since(f.until) }));
      },
      text: (r) =>
        r.replayed !== undefined ? `${r.replayed} events will be sent again to ${r.endpointId}` : `delivery ${r.id} (${r.eventId}) will be sent again`,
    },
    test: {
      usage: 'test ID (sends a signed webhook.test event now)',
      positionals: 1,
      run: (c, [hook]) => c.request('POST', `/webhooks/${id(hook!)}/test`),
      text: (r) => (r.delivered ? `delivered (${r.statusCode}) in ${r.durationMs} ms` : `not delivered: ${r.statusCode ?? r.error}`),
      exitCode: (r) => (r.delivered ? 0 : 1),
    },
  },
};
