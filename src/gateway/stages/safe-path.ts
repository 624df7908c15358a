import type { Stage } from '../exchange.ts';

const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;
const ENCODED_SEPARATOR = /%2f|%5c/i;

/**
 * Refuses paths whose meaning an upstream could read differently from us (RFC 3986 §5.2.4 dot
 * segments, encoded slashes), so a key limited to some paths cannot reach others through them.
 */
export const safePathStage: Stage = (exchange) => {
  const { path } = exchange;
  if (path.indexOf('.') === -1 && path.indexOf('%') === -1 && path.indexOf('\\') === -1) return undefined;
  if (DOT_SEGMENT.test(path) || ENCODED_SEPARATOR.test(path) || path.includes('\\')) {
    return { code: 'VALIDATION_FAILED', detail: 'the path has dot segments, backslashes or encoded separators' };
  }
  return undefined;
};
