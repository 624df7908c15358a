import { parseArgs } from 'node:util';
import type { AdminClient } from '../admin-client.ts';
import { asksForHelp, HelpRequest, table, UsageError, type Output } from '../output.ts';
import { query } from './resources.ts';

const USAGE = `usage: gatehouse requests [--since 1h|RFC3339] [--until T] [--key ID] [--app ID] [--api ID|NAME] [--user SUB] [--client ID]
                         [--status 404|4xx] [--address IP] [--code DENIAL_CODE] [--limit N] [--cursor C] [--json | --format ndjson|csv]
  the request log, newest first (GET /admin/v1/requests, requests:read); --format exports every match to stdout`;

const FORMATS = { ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;

/** `gatehouse requests`: what keys, apps and users called, when, from where, and how it was answered. */
export async function runRequests(argv: string[], client: AdminClient, out: Output): Promise<void> {
  if (asksForHelp(argv)) throw new HelpRequest(USAGE);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        key: { type: 'string' },
        app: { type: 'string' },
        api: { type: 'string' },
        user: { type: 'string' },
        client: { type: 'string' },
        status: { type: 'string' },
        address: { type: 'string' },
        code: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        format: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const f = parsed.values;
  const filters = {
    since: f.since,
    until: f.until,
    keyId: f.key,
    appId: f.app,
    api: f.api,
    user: f.user,
    clientId: f.client,
    status: f.status,
    address: f.address,
    code: f.code,
  };
  if (f.format !== undefined) {
    if (!Object.hasOwn(FORMATS, f.format)) throw new UsageError(`--format is ndjson or csv\n${USAGE}`);
    return client.download(`/requests${query({ ...filters, cursor: f.cursor })}`, FORMATS[f.format as keyof typeof FORMATS], process.stdout);
  }
  const page = await client.request('GET', `/requests${query({ ...filters, limit: f.limit, cursor: f.cursor })}`);
  out.result(page, () => {
    const rows = page.items.map((r: Record<string, unknown>) => ({ ...r, path: r.query ? `${r.path}?${r.query}` : r.path, ms: r.durationMs }));
    return (
      table(rows, ['at', 'method', 'path', 'status', 'denialCode', 'ms', 'api', 'keyId', 'user', 'address']) +
      (page.nextCursor ? `\n(more: --cursor ${page.nextCursor})` : '')
    );
  });
}
