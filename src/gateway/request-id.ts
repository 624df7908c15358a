import { randomBytes } from 'node:crypto';

let requestCount = 0;
const processTag = randomBytes(6).toString('base64url');

/** Unique per process and request, and cheap: a random tag per process and a counter. */
export function nextRequestId(): string {
  return `${processTag}-${(++requestCount).toString(36)}`;
}
