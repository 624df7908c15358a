import { z } from 'zod';
import { keyAddressesService } from '../services/key-addresses.ts';
import { keyAddressesResponse, keyDetailResponse } from './key-address-responses.ts';
import { pageQuerySchema } from './queries.ts';
import { route, type AdminRoute } from './route.ts';

/** A cursor is `<lastSeen>_<address>` (store/sqlite/key-addresses.ts); anything else is refused as a bad query, not a 500. */
const keyAddressQuerySchema = pageQuerySchema.extend({
  cursor: z
    .string()
    .regex(/^\d{1,16}_[^_\s]{1,46}$/, 'a nextCursor from an earlier page')
    .optional(),
});

/** A key's detail with its drain view, and where it was used from (docs/observability/key-addresses.md). */
export const KEY_ADDRESS_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'get',
    path: '/keys/{id}',
    tag: 'keys',
    permission: 'keys:read',
    summary: 'Get a key (never its secret); a rotated key in its grace period shows its drain',
    status: 200,
    response: keyDetailResponse,
    handle: ({ ctx, params }) => keyAddressesService.show(ctx, params.id!),
  }),
  route({
    method: 'get',
    path: '/keys/{id}/addresses',
    tag: 'keys',
    permission: 'keys:read',
    summary: 'Where a key was used from: client addresses, first and last seen, requests; last seen newest first',
    status: 200,
    query: keyAddressQuerySchema,
    response: keyAddressesResponse,
    handle: ({ ctx, params, query }) => keyAddressesService.list(ctx, params.id!, query),
  }),
];
