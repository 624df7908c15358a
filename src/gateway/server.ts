import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { unmapIpv4 } from '../domain/ip-allowlist.ts';
import type { Exchange, Stage, StageResult } from './exchange.ts';
import { renderDenial } from './render-denial.ts';

export interface GatewayServerOptions {
  pipeline: readonly (readonly [string, Stage])[];
  maxHeaderBytes: number;
  clock?: () => number;
  /** Counts outcomes by code (VALID for forwarded requests); the gateway logs nothing per request. */
  onOutcome?: (code: string) => void;
  onError?: (error: unknown) => void;
}

export function createGatewayServer(options: GatewayServerOptions): Server {
  const { pipeline, onOutcome, onError } = options;
  const clock = options.clock ?? Date.now;
  const server = createServer({ maxHeaderSize: options.maxHeaderBytes, requestTimeout: 60_000, headersTimeout: 15_000 }, (req, res) => {
    const exchange = newExchange(req, res, clock());
    run(pipeline, exchange).then(
      (denial) => {
        if (denial) renderDenial(exchange, denial);
        onOutcome?.(denial ? denial.code : 'FORWARDED');
      },
      (error: unknown) => {
        onError?.(error);
        renderDenial(exchange, { code: 'INTERNAL', detail: 'an unexpected gateway error' });
      },
    );
  });
  return server;
}

async function run(pipeline: readonly (readonly [string, Stage])[], exchange: Exchange): Promise<StageResult> {
  for (const [, stage] of pipeline) {
    const result = stage(exchange);
    const denial = result instanceof Promise ? await result : result;
    if (denial) return denial;
  }
  return undefined;
}

function newExchange(req: IncomingMessage, res: ServerResponse, now: number): Exchange {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const incomingId = req.headers['x-request-id'];
  return {
    req,
    res,
    requestId: typeof incomingId === 'string' && /^[\w.:-]{1,128}$/.test(incomingId) ? incomingId : randomUUID(),
    path: q === -1 ? url : url.slice(0, q),
    query: q === -1 ? '' : url.slice(q),
    ip: unmapIpv4(req.socket.remoteAddress ?? ''),
    now,
    route: null,
    credential: null,
    verification: null,
  };
}
