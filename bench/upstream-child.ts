/**
 * Benchmark upstream: a keep-alive node:http server that answers every request with the same small
 * JSON document. Runs in its own process; tells the parent its URL over IPC.
 * A path with /__echo in it is answered with the request headers it received instead: the side-by-side
 * benchmark checks with it what each proxy forwards (credentials dropped, identity headers set).
 */
import { createServer } from 'node:http';
import { serveChild } from './child-server.ts';
import { answerCpuRequests } from './cpu-report.ts';

const BODY = Buffer.from(JSON.stringify({ id: 'ord_0001', status: 'shipped', items: 3, total: { amount: 4200, currency: 'EUR' } }));

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  // Drain any request body before answering, so the connection stays reusable.
  req.resume();
  req.on('end', () => {
    if (req.url!.includes('/__echo')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    res.end(BODY);
  });
});

serveChild(server);
answerCpuRequests();
process.on('disconnect', () => process.exit(0));
