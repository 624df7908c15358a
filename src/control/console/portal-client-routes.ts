import { z } from 'zod';
import { id } from '../../domain/inputs/resources.ts';
import { clientInputSchema } from '../../domain/inputs/identity.ts';
import * as ir from '../admin/identity-responses.ts';
import { pageOf } from '../admin/responses.ts';
import { clientsService, clientView } from '../services/clients.ts';
import { portalClientsService } from '../services/portal-clients.ts';
import { route, type PortalRoute } from './portal-routes.ts';

/** The admin API's client fields a developer chooses; the APIs default to the whole catalogue, as a key's do. */
const clientInput = clientInputSchema
  .pick({ name: true, type: true, redirectUris: true, postLogoutRedirectUris: true, grantTypes: true, scopes: true, dpopBound: true })
  .extend({ apiIds: z.array(id('api')).min(1).max(64).optional().meta({ description: 'APIs of the catalogue; all of them when left out' }) });

/** OAuth clients of a developer's own apps (/portal/v1): register, list, rotate the secret, delete. */
export const PORTAL_CLIENT_ROUTES: readonly PortalRoute[] = [
  route({
    method: 'get',
    path: '/apps/{id}/clients',
    tag: 'clients',
    summary: 'My app’s OAuth clients (never their secrets)',
    status: 200,
    response: pageOf(ir.clientResponse),
    handle: ({ ctx, principal, params }) => portalClientsService.list(ctx, principal.user, params.id!),
  }),
  route({
    method: 'post',
    path: '/apps/{id}/clients',
    tag: 'clients',
    summary: 'Register an OAuth client for my app (a confidential client’s secret is in this answer only), within the operator’s grant types and APIs',
    status: 201,
    body: clientInput,
    response: ir.newClientResponse,
    handle: ({ ctx, actor, principal, params, body }) => portalClientsService.create(ctx, actor, principal.user, params.id!, body),
  }),
  route({
    method: 'get',
    path: '/clients/{id}',
    tag: 'clients',
    summary: 'One of my OAuth clients',
    status: 200,
    response: ir.clientResponse,
    handle: async ({ ctx, principal, params }) => clientView(await portalClientsService.own(ctx, principal.user, params.id!)),
  }),
  route({
    method: 'post',
    path: '/clients/{id}/rotate-secret',
    tag: 'clients',
    summary: 'A new secret for my confidential client, shown once; the old one stops working at once',
    status: 201,
    response: ir.clientSecretResponse,
    handle: async ({ ctx, actor, principal, params }) => {
      await portalClientsService.own(ctx, principal.user, params.id!);
      const { client, secret } = await clientsService.rotateSecret(ctx, actor, params.id!);
      return { ...clientView(client), secret };
    },
  }),
  route({
    method: 'delete',
    path: '/clients/{id}',
    tag: 'clients',
    summary: 'Delete my OAuth client: its tokens can no longer be refreshed or issued',
    status: 204,
    handle: async ({ ctx, actor, principal, params }) => {
      await portalClientsService.own(ctx, principal.user, params.id!);
      await clientsService.delete(ctx, actor, params.id!);
    },
  }),
];
