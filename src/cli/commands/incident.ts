import { Writable } from 'node:stream';
import type { AdminClient } from '../admin-client.ts';
import { table, UsageError } from '../output.ts';
import { query, type Flags, type Verb } from './resources.ts';

/** The report as Markdown, read whole (it is a document for a person, not a stream of records). */
async function markdown(client: AdminClient, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  await client.download(path, 'text/markdown', sink);
  return Buffer.concat(chunks).toString('utf8');
}

const WINDOW_FLAGS = { since: { type: 'string' }, until: { type: 'string' }, markdown: { type: 'boolean' } } as const;

/** `<kind> impact ID`: the report as JSON (--json), as a Markdown document (--markdown), or a short summary. */
function impactVerb(collection: 'keys' | 'users' | 'clients', what: string): Verb {
  return {
    usage: `impact ID [--since 2026-11-29T12:00:00Z|7d] [--until T] [--markdown]   what the ${what} did (default: since its exposure, else its creation)`,
    positionals: 1,
    flags: WINDOW_FLAGS,
    run: async (c, [id], f: Flags) => {
      const path = `/${collection}/${encodeURIComponent(id!)}/impact${query({ since: f.since, until: f.until })}`;
      return f.markdown === true ? { markdown: await markdown(c, path) } : c.request('GET', path);
    },
    text: (r) => (typeof r.markdown === 'string' ? r.markdown : summary(r)),
  };
}

function summary(r: any): string {
  const t = r.totals;
  const m = r.milestones;
  const lines = [
    `${r.subject.type} ${r.subject.id}${r.subject.name ? ` (${r.subject.name})` : ''}: ${r.window.since} to ${r.window.until}`,
    `created ${m.createdAt ?? '-'}, exposed ${m.exposedAt ?? '-'}, detected ${m.detectedAt ?? '-'}, contained ${m.containedAt ?? '-'}`,
    `${t.requests} requests (${t.forwarded} forwarded, ${t.denied} refused), ${t.bytesOut2xx} bytes in successful answers, ${t.addresses} addresses` +
      (t.newAddresses === null ? '' : ` (${t.newAddresses} new since the exposure)`),
    '',
    table(r.byRoute, ['api', 'route', 'requests', 'bytesOut']),
    '',
    table(
      r.addresses.map((a: any) => ({ ...a, new: a.newSinceExposure === null ? '?' : a.newSinceExposure ? 'yes' : 'no' })),
      ['address', 'requests', 'denied', 'firstSeenAt', 'lastSeenAt', 'new'],
    ),
  ];
  for (const note of r.coverage.notes) lines.push(`note: ${note}`);
  lines.push('(--markdown for the whole report, --json for the data)');
  return lines.join('\n');
}

/** Incident verbs, joined to the keys, users and clients commands (cli/main.ts). */
export const INCIDENT_VERBS: Record<string, Record<string, Verb>> = {
  keys: {
    compromised: {
      usage: 'compromised ID --reason TEXT   revoke the key and every token exchanged from it, and issue a replacement (its secret shown once)',
      positionals: 1,
      flags: { reason: { type: 'string' } },
      run: (c, [id], f) => {
        if (typeof f.reason !== 'string') throw new UsageError('keys compromised needs --reason');
        return c.request('POST', `/keys/${encodeURIComponent(id!)}/compromised`, { reason: f.reason });
      },
      text: (r) =>
        r.replacement ? `${r.summary}.\nThe replacement's secret is shown once; hand it to the key's owner now:\n${r.replacement.secret}` : `${r.summary}.`,
    },
    impact: impactVerb('keys', 'key'),
  },
  users: { impact: impactVerb('users', 'user') },
  clients: { impact: impactVerb('clients', 'client') },
};
