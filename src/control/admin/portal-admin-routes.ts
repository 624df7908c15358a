import { z } from 'zod';
import { MAX_OPENAPI_DOCUMENT_BYTES } from '../../domain/openapi-document.ts';
import { portalService } from '../services/portal.ts';
import * as ir from './identity-responses.ts';
import { named, time } from './responses.ts';
import { route, type AdminRoute } from './route.ts';

const inviteResponse = named(
  'PortalInvite',
  'A single-use sign-up link for one e-mail address (the token is in this answer only)',
  z.strictObject({
    email: z.string(),
    /** Append to the control plane's URL: the portal's sign-up page with the invitation. */
    path: z.string(),
    token: z.string(),
    expiresAt: time,
  }),
);

const referenceResponse = named(
  'ApiReference',
  'The OpenAPI document attached to an API',
  z.strictObject({ apiId: z.string(), contentType: z.string(), bytes: z.number().int(), updatedAt: time }),
);

/** Admin routes for the developer portal: API reference documents, invitations, approvals. */
export const PORTAL_ADMIN_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'put',
    path: '/apis/{id}/openapi',
    tag: 'apis',
    permission: 'apis:write',
    summary: 'Attach an OpenAPI 3.x document to an API (JSON or YAML): its reference in the developer portal',
    description: `Send the document as application/json or application/yaml, at most ${MAX_OPENAPI_DOCUMENT_BYTES} bytes. It must name an OpenAPI 3.x version and have info (title, version) and paths.`,
    status: 200,
    rawBody: { types: ['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml'], maxBytes: MAX_OPENAPI_DOCUMENT_BYTES },
    response: referenceResponse,
    handle: ({ ctx, actor, params, body }) => portalService.attachReference(ctx, actor, params.id!, body as unknown as { contentType: string; text: string }),
  }),
  route({
    method: 'post',
    path: '/portal/invites',
    tag: 'portal',
    permission: 'developers:write',
    summary: 'Invite a developer: a single-use sign-up link for their e-mail address',
    status: 201,
    body: z.strictObject({
      email: z
        .email()
        .max(320)
        .transform((e) => e.toLowerCase()),
    }),
    response: inviteResponse,
    handle: ({ ctx, actor, body }) => portalService.invite(ctx, actor, body.email),
  }),
  route({
    method: 'post',
    path: '/users/{id}/approve',
    tag: 'portal',
    permission: 'developers:write',
    summary: 'Approve a developer’s sign-up (portal.signup: approval): they may sign in from now on',
    status: 200,
    response: ir.userResponse,
    handle: ({ ctx, actor, params }) => portalService.approve(ctx, actor, params.id!),
  }),
];
