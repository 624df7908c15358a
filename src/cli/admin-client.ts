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
    } catch {
      throw new CommandError(`cannot reach the admin API at ${base} (is gatehouse running? set GATEHOUSE_URL)`);
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
