/**
 * Gatehouse under benchmark, in its own process (see seed.ts for what it is set up with).
 * argv[2]: upstream origin; argv[3]: scenario (seed.ts); argv[4]: `metrics-off` for a Gatehouse without metrics. Sends { type: 'ready', url, path, headers } to the parent over IPC; answers
 * { type: 'outcomes' } with the outcome counts since start; exits on { type: 'stop' }.
 */
import { answerCpuRequests } from './cpu-report.ts';
import { startSeededGatehouse, type Scenario } from './seed.ts';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: gatehouse-child.ts <upstream origin> [scenario]');

const seeded = await startSeededGatehouse(upstream, (process.argv[3] ?? 'apiKey') as Scenario, { metrics: process.argv[4] !== 'metrics-off' });
process.send!({ type: 'ready', url: seeded.gh.gatewayUrl, path: seeded.path, headers: seeded.headers });

process.on('message', (message: { type: string }) => {
  if (message.type === 'outcomes') process.send!({ type: 'outcomes', outcomes: Object.fromEntries(seeded.gh.outcomes) });
  else if (message.type === 'stop') void seeded.close().finally(() => process.exit(0));
});
answerCpuRequests();
process.on('disconnect', () => void seeded.close().finally(() => process.exit(0)));
