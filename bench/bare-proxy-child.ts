/**
 * The baseline: the least a correct Node reverse proxy does. A node:http server and one undici Pool to
 * the upstream (same pool settings as Gatehouse's Upstreams), hop-by-hop headers dropped, the answer
 * streamed back with pool.stream(). No auth, no limits, no usage counting.
 * argv[2]: upstream origin. Tells the parent its URL over IPC.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { serveChild } from './child-server.ts';
import { answerCpuRequests } from './cpu-report.ts';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: bare-proxy-child.ts <upstream origin>');
const pool = new Pool(upstream, { connections: 128, keepAliveTimeout: 10_000, pipelining: 1 });

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

const server = createServer((req, res) => {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  pool
    .stream(
      { path: req.url!, method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null },
      ({ statusCode, headers: upstreamHeaders }) => {
        const out: IncomingHttpHeaders = {};
        for (const name in upstreamHeaders) if (!HOP_BY_HOP.has(name)) out[name] = upstreamHeaders[name];
        res.writeHead(statusCode, out);
        return res;
      },
    )
    .catch(() => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    });
});

serveChild(server, () => pool.close());
answerCpuRequests();
process.on('disconnect', () => process.exit(0));
