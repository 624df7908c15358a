import { parse } from 'yaml';

/** The largest OpenAPI document an API may carry (bytes): the portal sends it whole to the browser. */
export const MAX_OPENAPI_DOCUMENT_BYTES = 2 * 1024 * 1024;

export type OpenApiCheck = { ok: true; document: Record<string, unknown> } | { ok: false; fields: Record<string, string> };

/**
 * Reads an OpenAPI document an operator attaches to an API (JSON or YAML 1.2) and checks the little the
 * portal relies on (OpenAPI 3.x §4.8: `openapi` 3.x, an `info` with `title` and `version`, and `paths`,
 * or `webhooks`/`components` for 3.1). The reference renderer reads the rest; it is not validated here.
 */
export function checkOpenApiDocument(text: string, format: 'json' | 'yaml'): OpenApiCheck {
  if (Buffer.byteLength(text) > MAX_OPENAPI_DOCUMENT_BYTES) return { ok: false, fields: { body: `at most ${MAX_OPENAPI_DOCUMENT_BYTES} bytes` } };
  let parsed: unknown;
  try {
    // YAML aliases are capped, so a small document cannot expand into a huge one ("billion laughs").
    parsed = format === 'json' ? JSON.parse(text) : parse(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (error) {
    return { ok: false, fields: { body: `not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}` } };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, fields: { body: 'an OpenAPI document is an object' } };
  const doc = parsed as Record<string, unknown>;
  const fields: Record<string, string> = {};
  if (typeof doc.openapi !== 'string' || !/^3\.\d+\.\d+(?:-[\w.]+)?$/.test(doc.openapi)) fields.openapi = 'an OpenAPI 3.x version, e.g. "3.1.0"';
  const info = doc.info as Record<string, unknown> | undefined;
  if (info === null || typeof info !== 'object' || Array.isArray(info)) fields.info = 'an object with title and version';
  else {
    if (typeof info.title !== 'string') fields['info.title'] = 'a string';
    if (typeof info.version !== 'string') fields['info.version'] = 'a string';
  }
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (doc.paths !== undefined && !isObject(doc.paths)) fields.paths = 'an object of paths';
  if (doc.paths === undefined && !isObject(doc.webhooks) && !isObject(doc.components)) fields.paths = 'paths (or, in 3.1, webhooks or components)';
  return Object.keys(fields).length ? { ok: false, fields } : { ok: true, document: doc };
}
