import { z } from 'zod';
import { problemSchema, responseRegistry } from './responses.ts';
import type { AdminRoute } from './route.ts';

const DESCRIPTION = [
  'Gatehouse’s admin API. Every answer is described by a schema; failures are RFC 9457 problem details with a stable `code`.',
  'References are ids: a body or path that points at another object (`appId`, `policyId`, `access[].apiId`, `apiIds`, `exchangeAppId`, `/apis/{id}`...) takes its id, which stays the same when the object is renamed (and app names need not be unique).',
  'To use a name, look its id up first: `GET /apis?name=`, `/apps?name=`, `/policies?name=`; the gatehouse CLI does this for every --api, --app and --policy flag.',
  'The one exception is a lookup, not a reference: `POST /keys/verify` takes `api` as a name or an id, as a service knows its own API.',
].join('\n\n');

/** What the document reads of a route: the admin API's, or the portal's (which has no admin permission). */
export type DocumentedRoute = Omit<AdminRoute, 'permission' | 'handle'> & { permission?: string };

export interface DocumentOptions {
  title: string;
  description: string;
  server: string;
  security: { name: string; scheme: Record<string, unknown> };
}

const ADMIN_DOCUMENT: DocumentOptions = {
  title: 'Gatehouse admin API',
  description: DESCRIPTION,
  server: '/admin/v1',
  security: { name: 'adminKey', scheme: { type: 'http', scheme: 'bearer', description: 'An admin key (gka_live_...)' } },
};

/** OpenAPI 3.1 generated from the route table and the same zod schemas that validate requests and describe answers. */
export function openApiDocument(routes: readonly DocumentedRoute[], options: DocumentOptions = ADMIN_DOCUMENT): Record<string, unknown> {
  const components: Record<string, unknown> = {};
  /** Answers: named schemas (responses.ts) go to components/schemas, so generated clients get one type each. */
  const answer = (schema: z.ZodType) => {
    const {
      $schema: _s,
      $defs,
      ...json
    } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any', metadata: responseRegistry, override: tidy }) as Record<string, unknown>;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) components[id] = rewriteRefs(def);
    return rewriteRefs(json);
  };
  answer(problemSchema);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: unknown[] = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const schema = z.toJSONSchema(r.query, { io: 'input', unrepresentable: 'any' }) as {
        properties?: Record<string, { description?: string }>;
        required?: string[];
      };
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        parameters.push({
          name,
          in: 'query',
          required: schema.required?.includes(name) ?? false,
          ...(property.description ? { description: property.description } : {}),
          schema: property,
        });
      }
    }
    (paths[r.path] ??= {})[r.method] = {
      operationId: `${r.method}${r.path
        .replace(/\{(\w+)\}/g, 'By$1')
        .replace(/\/(\w)/g, (_m, c: string) => c.toUpperCase())
        .replace(/\W/g, '')}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      ...(r.permission ? { 'x-gatehouse-permission': r.permission } : {}),
      security: [{ [options.security.name]: [] }],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body ? { requestBody: requestBody(r) } : {}),
      ...(r.rawBody ? { requestBody: { required: true, content: Object.fromEntries(r.rawBody.types.map((t) => [t, { schema: { type: 'object' } }])) } } : {}),
      responses: {
        [r.status]: r.response
          ? {
              description: r.status === 201 ? 'Created' : 'Success',
              content: {
                'application/json': { schema: answer(r.response) },
                // An export's other media types: streamed files, described by the route's summary.
                ...Object.fromEntries((r.produces ?? []).map((type) => [type, {}])),
              },
            }
          : { description: 'Done (no body)' },
        default: { description: 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: options.title, version: '1', description: options.description },
    servers: [{ url: options.server }],
    paths,
    components: {
      securitySchemes: { [options.security.name]: options.security.scheme },
      schemas: components,
    },
  };
}

/** Refs zod writes as `#/$defs/X` point into components/schemas in the document. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\//, '#/components/schemas/') : rewriteRefs(v)]),
  );
}

/**
 * An answer's times are what Date.toISOString writes: `format: date-time` says so without zod's long
 * pattern; its integers are counts, without zod's safe-integer bounds.
 */
function tidy(ctx: { jsonSchema: Record<string, unknown> }): void {
  const schema = ctx.jsonSchema;
  if (schema.format === 'date-time') delete schema.pattern;
  if (schema.type === 'integer' && schema.minimum === Number.MIN_SAFE_INTEGER) delete schema.minimum;
  if (schema.type === 'integer' && schema.maximum === Number.MAX_SAFE_INTEGER) delete schema.maximum;
}

const MERGE_PATCH =
  'RFC 7396 JSON Merge Patch: fields sent change, fields left out keep their value, null clears a field (or restores its default); nested objects merge member by member, arrays replace whole.';

/** PATCH bodies are merge patches (RFC 7396), also accepted as application/merge-patch+json. */
function requestBody(r: DocumentedRoute) {
  const schema = z.toJSONSchema(r.body!, { io: 'input', unrepresentable: 'any' });
  if (r.method !== 'patch') return { required: true, content: { 'application/json': { schema } } };
  return { required: true, description: MERGE_PATCH, content: { 'application/merge-patch+json': { schema }, 'application/json': { schema } } };
}
