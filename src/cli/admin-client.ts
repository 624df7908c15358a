import { CommandError, UsageError } from './output.ts';

/**
 * The CLI changes things through the admin API, like any other client, so every change is checked,
 * audited and reaches the running gateway's caches at once.
 */
export interface AdminClient {
  request(method: string, path: string, body?: unknown): Promise<any>;
}

export function createAdminClient(env: NodeJS.ProcessEnv): AdminClient {
  const base = (env.GATEHOUSE_URL ?? 'http://127.0.0.1:8081').replace(/\/+$/, '');
  const key = env.GATEHOUSE_ADMIN_KEY;
  return {
    async request(method, path, body) {
      if (!key) throw new UsageError('set GATEHOUSE_ADMIN_KEY to an admin key (create one with: gatehouse admin-keys create)');
      let res: Response;
      try {
        res = await fetch(`${base}/admin/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch {
        throw new CommandError(`cannot reach the admin API at ${base} (is gatehouse running? set GATEHOUSE_URL)`);
      }
      const text = await res.text();
      let parsed: any = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        throw new CommandError(`the server at ${base} did not answer with JSON (HTTP ${res.status}); is GATEHOUSE_URL the admin listener?`);
      }
      if (!res.ok) {
        const fields = parsed?.errors?.map((e: { field: string; message: string }) => `\n  ${e.field}: ${e.message}`).join('') ?? '';
        throw new CommandError(`${parsed?.code ?? res.status}: ${parsed?.detail ?? res.statusText}${fields}`, parsed);
      }
      return parsed;
    },
  };
}
