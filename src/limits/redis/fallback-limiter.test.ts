import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Health } from '../../telemetry/health.ts';
import { quota, rate, SUBJECT } from '../contract.ts';
import { MemoryLimiter } from '../memory-limiter.ts';
import type { Limiter } from '../port.ts';
import { FallbackLimiter } from './fallback-limiter.ts';

const NOW = Date.UTC(2026, 10, 29, 12);
/** Redis away: every call fails, as a refused connection or a timeout does. */
const away: Limiter = {
  consume: () => Promise.reject(new Error('connect ECONNREFUSED')),
  peek: () => Promise.reject(new Error('connect ECONNREFUSED')),
};
const node = (nodes: number) =>
  new FallbackLimiter(away, new MemoryLimiter(), { mode: 'local', nodes, health: new Health(pino({ level: 'silent' }), () => NOW) });

test('with Redis away, a quota partly used before the outage still admits what is left of it, shared by the nodes', async () => {
  // 1,000 a day, 300 used (the seed the store gave), four nodes: 700 are left.
  const checks = [quota(1000, 300)];
  const nodes = [1, 2, 3, 4].map(() => node(4));
  assert.equal((await nodes[0]!.peek(SUBJECT, checks, NOW)).allowed, true, 'a key at 30 % of its quota is not refused');
  let admitted = 0;
  for (const n of nodes) for (let i = 0; i < 300; i++) if ((await n.consume(SUBJECT, checks, NOW)).allowed) admitted++;
  assert.equal(admitted, 700, 'the nodes together admit what is left of the quota');
});

test('with Redis away, a used-up quota stays refused and rate limits are divided by the nodes', async () => {
  assert.equal((await node(4).consume(SUBJECT, [quota(1000, 1000)], NOW)).allowed, false);
  const n = node(4);
  let admitted = 0;
  for (let i = 0; i < 20; i++) if ((await n.consume(SUBJECT, [rate(40)], NOW)).allowed) admitted++;
  assert.equal(admitted, 10);
});
