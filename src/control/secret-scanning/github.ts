import { randomBytes, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { secretSha256 } from '../../domain/secret-scan.ts';
import { problem, STORAGE_RETRY_AFTER_SECONDS, writeProblem } from '../../http/problem.ts';
import { StorageUnavailableError } from '../../store/port.ts';
import type { ControlContext } from '../context.ts';
import { markExposed } from '../services/exposure.ts';
import { identifySecret } from '../services/secret-lookup.ts';
import { handledBefore, recordHandled, reportDigest } from './handled-reports.ts';
import type { SigningKeySet } from './public-keys.ts';

/** Where the receiver listens on the control listener (outside /admin: GitHub holds no admin key). */
export const GITHUB_RECEIVER_PATH = '/secret-scanning/github';

/** What the receiver logs: counts and ids, never a token. */
interface ReceiverLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface GithubReceiverOptions {
  ctx: ControlContext;
  keys: SigningKeySet;
  maxBodyBytes: number;
  maxTokens: number;
  log: ReceiverLog;
}

/**
 * One match as GitHub's secret scanning partner program sends it: the token, the type name we
 * registered, the public URL it was found at (may be empty) and where on GitHub (commit, issue, ...).
 * Fields GitHub may add later are ignored.
 */
const matchSchema = z.object({
  token: z.string().min(1).max(1024),
  type: z.string().max(256),
  url: z.string().max(4096).default(''),
  source: z.string().max(64).default('unknown'),
});

/** The partner program's feedback format: one verdict per match, the token as its SHA-256 (hex), never raw. */
interface Verdict {
  token_hash: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

/** The published keys are fetched at most once a minute (public-keys.ts): a retry sooner would meet the same failure. */
const KEYS_RETRY_AFTER_SECONDS = 60;

/**
 * `POST /secret-scanning/github`: GitHub's secret scanning partner program reports tokens of our
 * format found in public places. The raw body is verified before anything is parsed: an ECDSA P-256
 * SHA-256 signature (DER, base64, `Github-Public-Key-Signature`) under the key named by
 * `Github-Public-Key-Identifier`. Each of our API keys reported is marked exposed (source
 * `secret-scanning`, where = the URL), which applies the exposure policy and announces `key.exposed`;
 * admin keys and client secrets are logged for an operator (by id) and confirmed. The answer is the
 * partner program's verdict list: true_positive for a credential issued here, false_positive for
 * anything else, including look-alikes whose checksum fails (never looked up).
 */
export function githubSecretScanningReceiver(o: GithubReceiverOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const reportSchema = z.array(matchSchema);
  return async (req, res) => {
    const requestId = randomBytes(12).toString('base64url');
    const refuse = (code: Parameters<typeof problem>[0], detail: string, extra?: Record<string, string>) =>
      writeProblem(res, problem(code, detail, requestId), { 'x-request-id': requestId, ...extra });
    if (req.method !== 'POST') return refuse('METHOD_NOT_ALLOWED', `POST a signed report to ${GITHUB_RECEIVER_PATH}`, { allow: 'POST' });
    const identifier = single(req.headers['github-public-key-identifier']);
    const signature = single(req.headers['github-public-key-signature']);
    if (!identifier || !signature) {
      return refuse('SIGNATURE_MISSING', 'send the report with Github-Public-Key-Identifier and Github-Public-Key-Signature', { connection: 'close' });
    }
    const body = await readBounded(req, o.maxBodyBytes);
    if (!body) {
      res.once('finish', () => req.destroy());
      return refuse('BODY_TOO_LARGE', `a report may be at most ${o.maxBodyBytes} bytes`, { connection: 'close' });
    }
    let key: KeyObject | null;
    try {
      key = await o.keys.get(identifier);
    } catch (error) {
      o.log.error({ err: error, requestId }, 'secret-scanning report: the public keys could not be fetched');
      return refuse('UPSTREAM_UNAVAILABLE', "the code host's public keys could not be fetched to check the signature; send the report again later", {
        'retry-after': String(KEYS_RETRY_AFTER_SECONDS),
      });
    }
    try {
      // Over the raw bytes, as sent: re-serialising the JSON would change what was signed.
      if (!key || !verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'))) {
        o.log.warn({ requestId, identifier, knownKey: key !== null }, 'secret-scanning report refused: the signature does not verify');
        return refuse(
          'SIGNATURE_INVALID',
          key ? 'the signature does not verify over the body' : 'the key named by Github-Public-Key-Identifier is not trusted',
        );
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return refuse('INVALID_JSON', 'the report is not JSON');
      }
      const report = reportSchema.safeParse(parsed);
      // Messages name the field and what was expected, never the value (a token).
      if (!report.success) return refuse('VALIDATION_FAILED', `not a secret-scanning report: ${report.error.issues[0]?.message ?? 'invalid'}`);
      if (report.data.length > o.maxTokens) return refuse('BODY_TOO_LARGE', `a report may name at most ${o.maxTokens} tokens`);
      const digest = reportDigest(body);
      const replay = await handledBefore(o.ctx, digest);
      const verdicts = await judge(o, report.data, requestId, replay);
      if (!replay) await recordHandled(o.ctx, digest);
      const text = JSON.stringify(verdicts);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
        'x-request-id': requestId,
      });
      res.end(text);
    } catch (error) {
      if (error instanceof StorageUnavailableError) {
        o.log.error({ err: error, requestId }, 'secret-scanning report: the store refused a change');
        return refuse('STORAGE_UNAVAILABLE', 'the store cannot take changes right now; send the report again later', {
          'retry-after': String(STORAGE_RETRY_AFTER_SECONDS),
        });
      }
      o.log.error({ err: error, requestId }, 'secret-scanning report failed');
      return refuse('INTERNAL', 'an unexpected error; the request id identifies it in the logs');
    }
  };
}

/** The verdicts; `replay`: a report handled before, judged again but acted on (marked, audited, announced) no more. */
async function judge(o: GithubReceiverOptions, matches: z.output<typeof matchSchema>[], requestId: string, replay: boolean): Promise<Verdict[]> {
  const actor = { actor: 'secret-scanning:github', requestId };
  const verdicts: Verdict[] = [];
  const exposedKeys: string[] = [];
  for (const match of matches) {
    const where = match.url || `github ${match.source}`;
    // Identified per match, not cached: a second report of the same key must see the first's exposure.
    const who = await identifySecret(o.ctx, match.token);
    let ours = false;
    if (who.kind === 'api' || who.kind === 'publishable') {
      if (who.key) {
        if (!replay) await markExposed(o.ctx, actor, who.key, { source: 'secret-scanning', where });
        exposedKeys.push(who.key.id);
        ours = true;
      }
    } else if (who.kind === 'admin' && who.adminKey) {
      o.log.warn({ requestId, adminKeyId: who.adminKey.id, where }, 'GitHub reported an admin key exposed: revoke it (gatehouse admin-keys revoke ID)');
      ours = true;
    } else if (who.kind === 'clientSecret' && who.client) {
      o.log.warn(
        { requestId, clientId: who.client.id, where },
        'GitHub reported an OAuth client secret exposed: rotate it (gatehouse clients rotate-secret ID)',
      );
      ours = true;
    }
    verdicts.push({ token_hash: secretSha256(match.token), token_type: match.type, label: ours ? 'true_positive' : 'false_positive' });
  }
  o.log.info(
    { requestId, tokens: matches.length, exposedKeys, replay },
    replay ? 'secret-scanning report received again: already handled' : 'secret-scanning report received',
  );
  return verdicts;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value?.trim() || undefined;
}

/** The body, or null once it passes `max` bytes (the rest is not read). */
function readBounded(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        return resolve(null);
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
