import type { z } from 'zod';
import type { AdminPermission } from '../../domain/permissions.ts';
import type { Actor, ControlContext } from '../context.ts';

type AnySchema = z.ZodType;

/**
 * One admin route, as data: the table of these registers the HTTP handlers and generates the
 * OpenAPI document, so the document always describes what the server validates.
 */
export interface AdminRoute<B extends AnySchema | undefined = AnySchema | undefined, Q extends AnySchema | undefined = AnySchema | undefined> {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI-style path under /admin/v1, e.g. `/keys/{id}`. */
  path: string;
  permission: AdminPermission;
  summary: string;
  tag: string;
  body?: B;
  query?: Q;
  /** Status of a successful answer. */
  status: 200 | 201 | 204;
  handle(request: {
    ctx: ControlContext;
    actor: Actor;
    params: Record<string, string>;
    body: B extends AnySchema ? z.output<B> : undefined;
    query: Q extends AnySchema ? z.output<Q> : undefined;
    /** Counts a failed credential check (a guessed key) against the caller's address, as a wrong admin key does. */
    countFailure: () => void;
    /** The request's Accept field ('' without one), for routes that answer in more than one format. */
    accept: string;
  }): Promise<unknown>;
  /** Media types besides JSON a route may answer with (an export): returned as a Response. */
  produces?: readonly string[];
}

/** Keeps each route's body and query types tied to its schemas. */
export const route = <B extends AnySchema | undefined = undefined, Q extends AnySchema | undefined = undefined>(
  definition: AdminRoute<B, Q>,
): AdminRoute => definition as unknown as AdminRoute;
