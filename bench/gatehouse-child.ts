/**
 * Gatehouse under benchmark, in its own process (see seed.ts for what it is set up with).
 * argv[2]: upstream origin; argv[3]: scenario (seed.ts); argv[4]: `on`, `metrics-off` (Prometheus off)
 * or `observability-off` (metrics, request log and usage analytics off); argv[5]: API keys to create;
 * argv[6] (optional): configuration over the defaults, as JSON (`{"gateway":{"workers":2}}`);
 * argv[7] (optional): more of the seed's options, as JSON (`{"storedKeys":1000000,"routes":10000}`).
 * Sends { type: 'ready', url, path, headers, hotSecretsFile } to the parent over IPC; answers
 * { type: 'outcomes' } with the outcome counts since start; exits on { type: 'stop' }.
 */
import { answerCpuRequests } from './cpu-report.ts';
import { startSeededGatehouse, type Scenario } from './seed.ts';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: gatehouse-child.ts <upstream origin> [scenario] [on|metrics-off|observability-off] [keys] [config JSON]');

const mode = process.argv[4] ?? 'on';
const seeded = await startSeededGatehouse(upstream, (process.argv[3] ?? 'apiKey') as Scenario, {
  metrics: mode !== 'metrics-off',
  observability: mode !== 'observability-off',
  keys: Number(process.argv[5] ?? 1),
  ...(process.argv[6] ? { config: JSON.parse(process.argv[6]) as Record<string, unknown> } : {}),
  ...(process.argv[7] ? (JSON.parse(process.argv[7]) as { storedKeys?: number; routes?: number }) : {}),
});
process.send!({ type: 'ready', url: seeded.gh.gatewayUrl, path: seeded.path, headers: seeded.headers, hotSecretsFile: seeded.hotSecretsFile });

process.on('message', (message: { type: string }) => {
  if (message.type === 'outcomes') void outcomes().then((counts) => process.send!({ type: 'outcomes', outcomes: counts }));
  else if (message.type === 'stop') void seeded.close().finally(() => process.exit(0));
});
answerCpuRequests();
process.on('disconnect', () => void seeded.close().finally(() => process.exit(0)));

/**
 * Outcome counts: the main thread's gateway counts them itself; gateway workers count them in their
 * metrics, summed by the control plane's /metrics (none with metrics off).
 */
async function outcomes(): Promise<Record<string, number>> {
  if (seeded.gh.outcomes.size > 0 || !seeded.gh.metrics) return Object.fromEntries(seeded.gh.outcomes);
  const counts: Record<string, number> = {};
  const text = await (await fetch(`${seeded.gh.controlUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^gatehouse_gateway_requests_total\{.*outcome="([^"]+)".*\} (\d+)/.exec(line);
    if (match) counts[match[1]!] = (counts[match[1]!] ?? 0) + Number(match[2]);
  }
  return counts;
}
