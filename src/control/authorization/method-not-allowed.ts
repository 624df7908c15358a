import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

/** The methods an endpoint may take, in the order Allow lists them. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

interface ErrorOut {
  error: string;
  error_description: string;
}

/**
 * oidc-provider's router matches a path and a method together, and has no answer of its own for a path
 * it serves asked with another method: such a request matched nothing and got koa's empty 404, as if
 * the endpoint were not there (GET /token, a POST to the keys), or matched a route with a parameter that
 * happens to take the same path (GET /device/auth is the device flow's resume page for an interaction
 * named "auth", answered 400). Answered 405 with the methods the endpoint takes in Allow (RFC 9110
 * §15.5.6, §10.2.1), read from the router itself so it follows what is mounted, and an RFC 6749 §5.2
 * error body (invalid_request: the wrong method), or the error page for a browser, as oidc-provider
 * answers its other errors, naming the endpoint by its route (never echoing the path sent, which may
 * carry an id). The endpoint at a path is its route without parameters if it has one; a path no route
 * takes stays a 404.
 */
export function methodNotAllowed(provider: Provider, renderPage: (kctx: KoaContextWithOIDC, out: ErrorOut) => Promise<void>) {
  const isStatic = (routePath: string | undefined) => routePath !== undefined && !routePath.includes('/:');
  return async (kctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    const router = instance(provider).router;
    const own = router?.match(kctx.method, kctx.path)?.route.path;
    if (!router || isStatic(own)) return next();
    const routes = METHODS.map((method) => ({ method, path: router.match(method, kctx.path)?.route.path })).filter((r) => r.path !== undefined);
    const endpoint = routes.find((r) => isStatic(r.path))?.path ?? routes[0]?.path;
    if (endpoint === undefined || endpoint === own) return next();
    const allowed = routes.filter((r) => r.path === endpoint).map((r) => r.method);
    const uses = allowed.filter((m) => m !== 'HEAD' && m !== 'OPTIONS');
    kctx.status = 405;
    kctx.set('Allow', allowed.join(', '));
    kctx.set('Cache-Control', 'no-store');
    const out = { error: 'invalid_request', error_description: `${endpoint} takes ${uses.join(' or ')}, not ${kctx.method}` };
    if (kctx.accepts('json', 'html') === 'html') await renderPage(kctx, out);
    else kctx.body = out;
  };
}
