import { notFound } from '../context.ts';
import { clientsService, clientView } from '../services/clients.ts';
import { grantsService } from '../services/grants.ts';
import { signingKeysService, signingKeyView } from '../services/signing-keys.ts';
import { requireIdentity, usersService, userAnswer } from '../services/users.ts';
import * as ir from './identity-responses.ts';
import * as i from '../../domain/inputs/identity.ts';
import { pageOf } from './responses.ts';
import { route, type AdminRoute } from './route.ts';
import { pageQuerySchema, userListQuerySchema } from './queries.ts';

/** Admin routes for the authorization server: users and their grants, OAuth clients, signing keys. */
export const IDENTITY_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'get',
    path: '/users',
    tag: 'users',
    permission: 'users:read',
    summary: 'List users',
    status: 200,
    query: userListQuerySchema,
    response: pageOf(ir.userResponse),
    handle: async ({ ctx, query }) => {
      const page = await usersService.list(ctx, query);
      return { items: page.items.map((user) => userAnswer(ctx, user)), nextCursor: page.nextCursor };
    },
  }),
  route({
    method: 'post',
    path: '/users',
    tag: 'users',
    permission: 'users:write',
    summary: 'Create a user',
    status: 201,
    body: i.userInputSchema,
    response: ir.userResponse,
    handle: async ({ ctx, actor, body }) => userAnswer(ctx, await usersService.create(ctx, actor, body)),
  }),
  route({
    method: 'get',
    path: '/users/{id}',
    tag: 'users',
    permission: 'users:read',
    summary: 'Get a user',
    status: 200,
    response: ir.userResponse,
    handle: async ({ ctx, params }) => userAnswer(ctx, await usersService.get(ctx, params.id!)),
  }),
  route({
    method: 'patch',
    path: '/users/{id}',
    tag: 'users',
    permission: 'users:write',
    summary: 'Change a user; disabling or a new password ends their sessions',
    status: 200,
    body: i.userPatchSchema,
    response: ir.userResponse,
    handle: async ({ ctx, actor, params, body }) => userAnswer(ctx, await usersService.update(ctx, actor, params.id!, body)),
  }),
  route({
    method: 'delete',
    path: '/users/{id}',
    tag: 'users',
    permission: 'users:write',
    summary: 'Delete a user and revoke their grants',
    status: 204,
    handle: ({ ctx, actor, params }) => usersService.delete(ctx, actor, params.id!),
  }),
  route({
    method: 'post',
    path: '/users/{id}/mfa/reset',
    tag: 'users',
    permission: 'users:write',
    summary: 'Remove a user’s TOTP enrolment and recovery codes',
    status: 200,
    response: ir.userResponse,
    handle: async ({ ctx, actor, params }) => userAnswer(ctx, await usersService.resetMfa(ctx, actor, params.id!)),
  }),
  route({
    method: 'get',
    path: '/users/{id}/grants',
    tag: 'users',
    permission: 'users:read',
    summary: 'A user’s grants and sessions',
    status: 200,
    response: ir.userGrantsResponse,
    handle: async ({ ctx, params }) => {
      await usersService.get(ctx, params.id!);
      return grantsService.listForUser(ctx, params.id!);
    },
  }),
  route({
    method: 'post',
    path: '/users/{id}/grants/revoke',
    tag: 'users',
    permission: 'users:write',
    summary: 'Sign a user out everywhere: revoke every grant and session',
    status: 200,
    response: ir.revokedCountResponse,
    handle: async ({ ctx, actor, params }) => {
      await usersService.get(ctx, params.id!);
      return grantsService.revokeAllForUser(ctx, actor, params.id!);
    },
  }),
  route({
    method: 'delete',
    path: '/grants/{id}',
    tag: 'users',
    permission: 'users:write',
    summary: 'Revoke one grant: its refresh tokens, codes and access tokens',
    status: 204,
    handle: async ({ ctx, actor, params }) => {
      const identity = requireIdentity(ctx);
      // An id that names no grant is 404 like any other, not a revocation (and an audit entry) of nothing.
      if (!(await identity.oidcRecords.find('Grant', params.id!, ctx.clock()))) throw notFound('grant', params.id!);
      await grantsService.revokeGrant(ctx, actor, params.id!);
    },
  }),

  route({
    method: 'get',
    path: '/clients',
    tag: 'clients',
    permission: 'clients:read',
    summary: 'List OAuth clients',
    status: 200,
    query: pageQuerySchema,
    response: pageOf(ir.clientResponse),
    handle: async ({ ctx, query }) => {
      const page = await clientsService.list(ctx, query);
      return { items: page.items.map(clientView), nextCursor: page.nextCursor };
    },
  }),
  route({
    method: 'post',
    path: '/clients',
    tag: 'clients',
    permission: 'clients:write',
    summary: 'Register an OAuth client (a confidential client’s secret is in this answer only)',
    status: 201,
    body: i.clientInputSchema,
    response: ir.newClientResponse,
    handle: async ({ ctx, actor, body }) => {
      const { client, secret } = await clientsService.create(ctx, actor, body);
      return { ...clientView(client), ...(secret ? { secret } : {}) };
    },
  }),
  route({
    method: 'get',
    path: '/clients/{id}',
    tag: 'clients',
    permission: 'clients:read',
    summary: 'Get an OAuth client',
    status: 200,
    response: ir.clientResponse,
    handle: async ({ ctx, params }) => clientView(await clientsService.get(ctx, params.id!)),
  }),
  route({
    method: 'patch',
    path: '/clients/{id}',
    tag: 'clients',
    permission: 'clients:write',
    summary: 'Change an OAuth client',
    status: 200,
    body: i.clientPatchSchema,
    response: ir.clientResponse,
    handle: async ({ ctx, actor, params, body }) => clientView(await clientsService.update(ctx, actor, params.id!, body)),
  }),
  route({
    method: 'post',
    path: '/clients/{id}/secret',
    tag: 'clients',
    permission: 'clients:write',
    summary: 'Replace a client’s secret (shown once; the old one stops at once)',
    status: 201,
    response: ir.clientSecretResponse,
    handle: async ({ ctx, actor, params }) => {
      const { client, secret } = await clientsService.rotateSecret(ctx, actor, params.id!);
      return { ...clientView(client), secret };
    },
  }),
  route({
    method: 'delete',
    path: '/clients/{id}',
    tag: 'clients',
    permission: 'clients:write',
    summary: 'Delete an OAuth client',
    status: 204,
    handle: ({ ctx, actor, params }) => clientsService.delete(ctx, actor, params.id!),
  }),

  route({
    method: 'get',
    path: '/signing-keys',
    tag: 'signing-keys',
    permission: 'signing_keys:read',
    summary: 'List token-signing keys (public parts and schedule)',
    status: 200,
    response: ir.signingKeyListResponse,
    handle: async ({ ctx }) => ({ items: (await signingKeysService.list(ctx)).map((k) => signingKeyView(k, ctx.clock())) }),
  }),
  route({
    method: 'post',
    path: '/signing-keys/rotate',
    tag: 'signing-keys',
    permission: 'signing_keys:write',
    summary: 'Add a signing key that replaces the current one after the publish lead',
    status: 201,
    body: i.signingKeyRotateSchema,
    response: ir.signingKeyResponse,
    handle: async ({ ctx, actor, body }) => signingKeyView(await signingKeysService.rotate(ctx, actor, body), ctx.clock()),
  }),
];
