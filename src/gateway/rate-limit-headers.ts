import type { LimitState } from '../limits/port.ts';

export interface RateLimitHeaders {
  policy: string;
  state: string;
}

/**
 * RateLimit-Policy values already made, by their limits' (name, quota, window) in order: a key's
 * policy is the same on every request, so it is made once, not per request (issue 14). Each level
 * maps one limit to the policy of the limits so far; past MAX_POLICIES it starts over, so keys with
 * limits of their own cannot grow it without bound.
 */
interface PolicyNode {
  readonly value: string;
  /** The RateLimit member's start for the limit this node adds (its separator and name): made once, not per request. */
  readonly statePrefix: string;
  readonly next: Map<string, Map<number, Map<number, PolicyNode>>>;
}
const MAX_POLICIES = 10_000;
let policies: PolicyNode = { value: '', statePrefix: '', next: new Map() };
let policyCount = 0;

function policyAfter(node: PolicyNode, l: LimitState, windowS: number): PolicyNode {
  let byLimit = node.next.get(l.name);
  if (byLimit === undefined) node.next.set(l.name, (byLimit = new Map()));
  let byWindow = byLimit.get(l.limit);
  if (byWindow === undefined) byLimit.set(l.limit, (byWindow = new Map()));
  let next = byWindow.get(windowS);
  if (next === undefined) {
    // draft §4: a list member per policy, its quota `q` and window `w` in seconds.
    const member = `"${l.name}";q=${l.limit};w=${windowS}`;
    const first = node.value === '';
    next = { value: first ? member : `${node.value}, ${member}`, statePrefix: `${first ? '' : ', '}"${l.name}";r=`, next: new Map() };
    byWindow.set(windowS, next);
    policyCount++;
  }
  return next;
}

/**
 * draft-ietf-httpapi-ratelimit-headers-10 §4 (RateLimit-Policy: quota `q`, window `w` in seconds) and
 * §5 (RateLimit: remaining `r`, seconds to reset `t`), one list member per named limit.
 */
export function rateLimitHeaders(limits: readonly LimitState[]): RateLimitHeaders | null {
  if (limits.length === 0) return null;
  if (policyCount > MAX_POLICIES) ((policies = { value: '', statePrefix: '', next: new Map() }), (policyCount = 0));
  let policy = policies;
  let state = '';
  for (const l of limits) {
    policy = policyAfter(policy, l, Math.max(1, Math.ceil(l.windowMs / 1000)));
    state += policy.statePrefix + l.remaining + ';t=' + Math.ceil(l.resetMs / 1000);
  }
  return { policy: policy.value, state };
}
