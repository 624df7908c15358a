import { z } from 'zod';
import { KEY_CODES } from '../../domain/codes.ts';
import type { AdminRoute } from './route.ts';

/** OpenAPI 3.1 generated from the route table and the same zod schemas that validate requests. */
export function openApiDocument(routes: readonly AdminRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: unknown[] = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const schema = z.toJSONSchema(r.query, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        parameters.push({ name, in: 'query', required: schema.required?.includes(name) ?? false, schema: property });
      }
    }
    (paths[r.path] ??= {})[r.method] = {
      operationId: `${r.method}${r.path.replace(/\{(\w+)\}/g, 'By$1').replace(/\/(\w)/g, (_m, c: string) => c.toUpperCase()).replace(/\W/g, '')}`,
      summary: r.summary,
      tags: [r.tag],
      'x-gatehouse-permission': r.permission,
      security: [{ adminKey: [] }],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body ? { requestBody: requestBody(r) } : {}),
      responses: {
        [r.status]: {
          description: r.status === 204 ? 'Done' : 'Success',
          ...(r.produces ? { content: Object.fromEntries(['application/json', ...r.produces].map((type) => [type, {}])) } : {}),
        },
        default: { description: 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse admin API', version: '1' },
    servers: [{ url: '/admin/v1' }],
    paths,
    components: {
      securitySchemes: { adminKey: { type: 'http', scheme: 'bearer', description: 'An admin key (gka_live_...)' } },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            requestId: { type: ['string', 'null'] },
            errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
        VerifyCode: { type: 'string', enum: KEY_CODES },
      },
    },
  };
}

const MERGE_PATCH =
  'RFC 7396 JSON Merge Patch: fields sent change, fields left out keep their value, null clears a field (or restores its default); nested objects merge member by member, arrays replace whole.';

/** PATCH bodies are merge patches (RFC 7396), also accepted as application/merge-patch+json. */
function requestBody(r: AdminRoute) {
  const schema = z.toJSONSchema(r.body!, { io: 'input', unrepresentable: 'any' });
  if (r.method !== 'patch') return { required: true, content: { 'application/json': { schema } } };
  return { required: true, description: MERGE_PATCH, content: { 'application/merge-patch+json': { schema }, 'application/json': { schema } } };
}
