import type { z } from 'zod';
import type { AdminPermission } from '../../domain/permissions.ts';
import type { Actor, ControlContext } from '../context.ts';

type AnySchema = z.ZodType;

/**
 * One admin route, as data: the table of these registers the HTTP handlers and generates the
 * OpenAPI document, so the document always describes what the server validates and answers.
 */
export interface AdminRoute<
  B extends AnySchema | undefined = AnySchema | undefined,
  Q extends AnySchema | undefined = AnySchema | undefined,
  R extends AnySchema | undefined = AnySchema | undefined,
> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI-style path under /admin/v1, e.g. `/keys/{id}`. */
  path: string;
  permission: AdminPermission;
  summary: string;
  /** Longer text for the document, when the summary does not say enough. */
  description?: string;
  tag: string;
  body?: B;
  query?: Q;
  /** Status of a successful answer. */
  status: 200 | 201 | 204;
  /**
   * The successful answer's shape (responses.ts), for the document; a 204 has none. The handler must
   * return what it describes, and test/admin-responses.test.ts parses a real answer of every route with it.
   */
  response?: R;
  handle(request: {
    ctx: ControlContext;
    actor: Actor;
    params: Record<string, string>;
    body: B extends AnySchema ? z.output<B> : undefined;
    query: Q extends AnySchema ? z.output<Q> : undefined;
    /** Counts a failed credential check (a guessed key) against the caller's address, as a wrong admin key does. */
    countFailure: () => void | Promise<void>;
    /** The request's Accept field ('' without one), for routes that answer in more than one format. */
    accept: string;
    // A route with `produces` may answer with a Response of its own (an export) instead of its JSON.
  }): Promise<R extends AnySchema ? z.input<R> | Response : void>;
  /** Media types besides JSON a route may answer with (an export): its handler returns a Response then. */
  produces?: readonly string[];
  /**
   * A body taken as text in one of these media types (an attached document), up to `maxBytes`,
   * handed to the handler as `body: { contentType, text }` instead of being parsed as JSON.
   */
  rawBody?: { types: readonly string[]; maxBytes: number };
}

/** Keeps each route's body, query and answer types tied to its schemas. */
export const route = <B extends AnySchema | undefined = undefined, Q extends AnySchema | undefined = undefined, R extends AnySchema | undefined = undefined>(
  definition: AdminRoute<B, Q, R>,
): AdminRoute => definition as unknown as AdminRoute;
