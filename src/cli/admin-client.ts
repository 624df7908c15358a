import { CommandError, UsageError } from './output.ts';

/**
 * The CLI changes things through the admin API, like any other client, so every change is checked,
 * audited and reaches the running gateway's caches at once.
 */
export interface AdminClient {
  request(method: string, path: string, body?: unknown): Promise<any>;
  /** A GET answered in another format (an export), written to `out` as it arrives. */
  download(path: string, accept: string, out: NodeJS.WritableStream): Promise<void>;
}

/**
 * The control listener's URL from GATEHOUSE_URL. The banner prints the admin API as `.../admin/v1`, so
 * a URL copied from there is taken as meaning the same listener, not `.../admin/v1/admin/v1`.
 */
export function adminBaseUrl(value: string | undefined): string {
  return (value ?? 'http://127.0.0.1:8081').replace(/\/+$/, '').replace(/\/admin\/v1$/, '');
}

/**
 * Why a request to the admin API got no answer, in the words that say what to change: a running
 * Gatehouse whose certificate this machine does not trust is not "not running".
 */
function unreachableBecause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return `: its TLS certificate is not trusted here (${code}); give its CA in NODE_EXTRA_CA_CERTS (the demo's is .gatehouse/tls/ca.pem)`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') return ': it does not speak HTTPS there; is GATEHOUSE_URL http://, and the control listener?';
  const detail = code || (typeof cause?.message === 'string' ? cause.message : '');
  return `${detail ? `: ${detail}` : ''} (is gatehouse running? set GATEHOUSE_URL)`;
}

export function createAdminClient(env: NodeJS.ProcessEnv): AdminClient {
  const base = adminBaseUrl(env.GATEHOUSE_URL);
  const key = env.GATEHOUSE_ADMIN_KEY;
  const send = async (method: string, path: string, body: unknown, accept?: string): Promise<Response> => {
    if (!key) throw new UsageError('set GATEHOUSE_ADMIN_KEY to an admin key (create one with: gatehouse admin-keys create)');
    try {
      return await fetch(`${base}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(accept ? { accept } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new CommandError(`cannot reach the admin API at ${base}${unreachableBecause(error)}`);
    }
  };
  const failed = (res: Response, parsed: any): CommandError => {
    const fields = parsed?.errors?.map((e: { field: string; message: string }) => `\n  ${e.field}: ${e.message}`).join('') ?? '';
    return new CommandError(`${parsed?.code ?? res.status}: ${parsed?.detail ?? res.statusText}${fields}`, parsed);
  };
  return {
    async download(path, accept, out) {
      const res = await send('GET', path, undefined, accept);
      if (!res.ok || !res.body) {
        const text = await res.text();
        throw failed(res, /json/.test(res.headers.get('content-type') ?? '') && text ? JSON.parse(text) : null);
      }
      for await (const chunk of res.body) if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
    },
    async request(method, path, body) {
      const res = await send(method, path, body);
      const text = await res.text();
      let parsed: any = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        throw new CommandError(`the server at ${base} did not answer with JSON (HTTP ${res.status}); is GATEHOUSE_URL the admin listener?`);
      }
      if (!res.ok) throw failed(res, parsed);
      return parsed;
    },
  };
}
