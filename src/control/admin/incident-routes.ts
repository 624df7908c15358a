import { compromiseKey } from '../services/compromise.ts';
import { impactReportService, markdownResponse, MARKDOWN, wantsMarkdown } from '../services/impact-report.ts';
import { keysService } from '../services/keys.ts';
import { compromiseBodySchema, compromiseResponse, impactQuerySchema, impactReportResponse } from './incident-responses.ts';
import { route, type AdminRoute } from './route.ts';

/** Incident response (docs/incident-response.md): a key compromised in one step, and impact reports. */
export const INCIDENT_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'post',
    path: '/keys/{id}/compromised',
    tag: 'keys',
    permission: 'keys:write',
    summary: 'Revoke a compromised key and every token exchanged from it, and issue a replacement with the same settings, in one step',
    description:
      'One store transaction: the key is revoked (refused at once), every live token exchanged from it goes on the revocation list, a replacement with the same settings and a new secret is issued (shown in this answer only; no grace period), and who and why are audited with key.revoked and key.compromised events. A key rotated earlier is revoked without a new replacement while its successor is in use: that successor is one (a successor revoked with a replacement of its own is passed to that replacement; one revoked without one, expired or deleted since gets a replacement all the same; a disabled one gets none beside it, and successorWorks false and the summary say no key of the line works and how to get one).',
    status: 200,
    body: compromiseBodySchema,
    response: compromiseResponse,
    handle: async ({ ctx, actor, params, body }) => {
      const done = await compromiseKey(ctx, actor, params.id!, body.reason);
      const replacement = done.replacement && { ...(await keysService.view(ctx, done.replacement.key)), secret: done.replacement.secret };
      const successorId = done.successor?.id ?? null;
      const tokens = done.revokedTokens.length;
      return {
        key: await keysService.view(ctx, done.key),
        replacement,
        successorId,
        successorWorks: done.successorWorks,
        tokensRevoked: tokens,
        revokedTokenIds: done.revokedTokens,
        summary:
          `revoked key ${done.key.id} and ${tokens} token${tokens === 1 ? '' : 's'} exchanged from it; ` +
          (replacement
            ? `replacement ${replacement.id} issued (its secret is shown once, in this answer)`
            : (done.successorNote ?? `its successor ${successorId} replaces it`)),
      };
    },
  }),
  route({
    method: 'get',
    path: '/keys/{id}/impact',
    tag: 'keys',
    permission: 'requests:read',
    summary: "A key's impact report: what it did in a window (default: since its first exposure, else its creation); JSON or Markdown",
    status: 200,
    query: impactQuerySchema,
    response: impactReportResponse,
    produces: [MARKDOWN],
    handle: async ({ ctx, params, query, accept }) => {
      const report = await impactReportService.key(ctx, params.id!, query);
      return wantsMarkdown(query.format, accept) ? markdownResponse(report) : report;
    },
  }),
  route({
    method: 'get',
    path: '/users/{id}/impact',
    tag: 'users',
    permission: 'requests:read',
    summary: "A user's impact report: requests with their tokens, sign-ins and account events, grants and sessions; JSON or Markdown",
    status: 200,
    query: impactQuerySchema,
    response: impactReportResponse,
    produces: [MARKDOWN],
    handle: async ({ ctx, params, query, accept }) => {
      const report = await impactReportService.user(ctx, params.id!, query);
      return wantsMarkdown(query.format, accept) ? markdownResponse(report) : report;
    },
  }),
  route({
    method: 'get',
    path: '/clients/{id}/impact',
    tag: 'clients',
    permission: 'requests:read',
    summary: "An OAuth client's impact report: requests with its tokens and its history (secret rotations); JSON or Markdown",
    status: 200,
    query: impactQuerySchema,
    response: impactReportResponse,
    produces: [MARKDOWN],
    handle: async ({ ctx, params, query, accept }) => {
      const report = await impactReportService.client(ctx, params.id!, query);
      return wantsMarkdown(query.format, accept) ? markdownResponse(report) : report;
    },
  }),
];
