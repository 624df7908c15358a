/**
 * A header name as upstreams compare it: without regard to case (RFC 9110 §5.1) and, for WSGI and
 * CGI servers that map `X-Foo` and `X_Foo` to the same HTTP_X_FOO variable, with `_` read as `-`.
 */
export function normalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return lower.indexOf('_') === -1 ? lower : lower.replaceAll('_', '-');
}
