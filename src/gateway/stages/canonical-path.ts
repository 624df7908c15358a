import { canonicalPath } from '../../domain/canonical-path.ts';
import type { Stage } from '../exchange.ts';

/** A fragment or a control character in the query string: Node's parser lets a raw `#` through. */
const UNSAFE_QUERY = /[\x00-\x20#\x7f-\uffff]/;

/**
 * The one path this request is routed, authorised and forwarded on (domain/canonical-path.ts), set
 * before the route is looked up; a path that upstreams could read differently is refused. The
 * query string is forwarded as sent, but a `#` or control character in it is refused.
 */
export const canonicalPathStage: Stage = (exchange) => {
  const result = canonicalPath(exchange.path);
  if (!result.ok) return { code: 'PATH_NOT_CANONICAL', detail: `the path is refused: ${result.reason}` };
  exchange.canonicalPath = result.path;
  if (exchange.query.length > 1 && UNSAFE_QUERY.test(exchange.query)) {
    return { code: 'VALIDATION_FAILED', detail: 'the query string has a "#", a space or a control character: percent-encode it' };
  }
  return undefined;
};
