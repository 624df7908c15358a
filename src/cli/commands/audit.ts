import { parseArgs } from 'node:util';
import type { AdminClient } from '../admin-client.ts';
import { asksForHelp, HelpRequest, table, UsageError, type Output } from '../output.ts';
import { query } from './resources.ts';

const USAGE = 'usage: gatehouse audit [--target ID] [--action ACTION] [--limit N] [--cursor C] [--json]   (newest first; e.g. --action key.revoked)';

/** `gatehouse audit`: the admin API's audit log (GET /admin/v1/audit, `audit:read`), newest first. */
export async function runAudit(argv: string[], client: AdminClient, out: Output): Promise<void> {
  if (asksForHelp(argv)) throw new HelpRequest(USAGE);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { limit: { type: 'string' }, cursor: { type: 'string' }, target: { type: 'string' }, action: { type: 'string' }, json: { type: 'boolean' } },
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const f = parsed.values;
  const page = await client.request('GET', `/audit${query({ targetId: f.target, action: f.action, limit: f.limit, cursor: f.cursor })}`);
  out.result(
    page,
    () => table(page.items, ['at', 'actor', 'action', 'targetType', 'targetId']) + (page.nextCursor ? `\n(more: --cursor ${page.nextCursor})` : ''),
  );
}
