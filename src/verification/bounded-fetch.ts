/**
 * Fetches a small JSON document (JWKS, discovery) from a configured URL: a timeout, a size limit,
 * no redirects (a redirect could point the gateway at keys nobody configured), HTTPS or loopback only.
 */
export const MAX_DOCUMENT_BYTES = 256 * 1024;

export async function fetchBounded(
  url: string,
  init: { signal?: AbortSignal; headers?: Headers | Record<string, string>; method?: 'GET' | 'POST'; body?: string } = {},
  timeoutMs = 5000,
): Promise<Response> {
  const target = new URL(url);
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(target.hostname);
  if (target.protocol !== 'https:' && !(target.protocol === 'http:' && loopback))
    throw new Error(`refusing to fetch keys over ${target.protocol} from ${target.host}`);
  const signal = init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  const res = await fetch(target, {
    method: init.method ?? 'GET',
    redirect: 'error',
    signal,
    headers: init.headers ?? { accept: 'application/json' },
    ...(init.body ? { body: init.body } : {}),
  });
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_DOCUMENT_BYTES) throw new Error(`${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_DOCUMENT_BYTES) throw new Error(`${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    chunks.push(chunk);
  }
  return new Response(Buffer.concat(chunks), { status: res.status, headers: res.headers });
}

export async function fetchJson(url: string, timeoutMs = 5000): Promise<unknown> {
  const res = await fetchBounded(url, {}, timeoutMs);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}
