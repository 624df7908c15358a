/**
 * fast-gateway 3.4.7 (restana + fast-proxy-lite), plain: one route, /bench/* to the upstream with the
 * prefix kept, default settings otherwise. For the side-by-side benchmark (bench/side-by-side.ts).
 * argv[2]: upstream origin. Tells the parent its URL over IPC.
 */
import type { Server } from 'node:http';
import gateway from 'fast-gateway';
import { serveChild } from './child-server.ts';
import { answerCpuRequests } from './cpu-report.ts';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: fast-gateway-child.ts <upstream origin>');

const service = gateway({ routes: [{ prefix: '/bench', prefixRewrite: '/bench', target: upstream }] });
serveChild(service.getServer() as Server);
answerCpuRequests();
process.on('disconnect', () => process.exit(0));
