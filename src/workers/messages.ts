import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/load.ts';
import type { GatewayExposureSource } from '../gateway/stages/transport.ts';
import type { UsageCellColumns } from '../store/usage-cell-columns.ts';
import type { UsageBatchColumns } from '../store/usage-batch-columns.ts';
import type { EntryBatch } from '../store/entry-batch.ts';
import type { LostRecords } from '../telemetry/metrics.ts';

/** What a gateway worker is started with (workerData). */
export interface WorkerSetup {
  index: number;
  config: Readonly<Config>;
  /** The port to listen on, beside the main thread's listener (which was given it for port 0). */
  port: number;
  /** The limiter's SharedTable (limits, failure throttle, DPoP replay set). */
  table: SharedArrayBuffer;
  /** change-feed.ts: the generation counter and this worker's end of the change channel. */
  generation: SharedArrayBuffer;
  changes: MessagePort;
  /** Whether the revocation list polls the store (an authorization server runs). */
  pollRevocations: boolean;
  /** Our own issuer, when it is already up (a restarted worker). */
  ownIssuer: string | null;
  /** Whether the store (and what needs it: usage hand-over, revocation feed) decides readiness; false on gateway nodes (degraded mode). */
  storeCritical: boolean;
  /** One Int32: 1 while the main thread's readiness (the node's: its writer, store, other workers) is ready, else 0. */
  nodeReady: SharedArrayBuffer;
}

/** What a worker asks of the main thread, answered by id: the control plane and the writer live there. */
export type WorkerCall =
  | { kind: 'usage'; batch: UsageBatchColumns }
  | { kind: 'requests'; batch: EntryBatch }
  /** Usage analytics' cells, for the writer (retention is the main thread's). */
  | { kind: 'usage-cells'; cells: UsageCellColumns }
  /** The active signing key, for identity JWTs (kept in memory by the signer until a rotation). */
  | { kind: 'signing-material' };

/** `unavailable`: the failure was the store's being away (StorageUnavailableError), to be tried again, not a refusal of what was sent. */
export type Reply = { type: 'reply'; id: number; ok: true; value: unknown } | { type: 'reply'; id: number; ok: false; message: string; unavailable: boolean };

export type FromWorker =
  | { type: 'listening' }
  | { type: 'call'; id: number; call: WorkerCall }
  | { type: 'health'; component: string; critical: boolean; ok: boolean | null; error: string | null }
  /** An API key seen over plain HTTP (the secret, so the control plane can find and flag it). */
  | { type: 'exposed'; secret: string; ip: string; source: GatewayExposureSource }
  | Reply
  /** Its usage and records handed over (or lost): `lost`, what it lost since start, which the main thread's metrics count on. */
  | { type: 'stopped'; lost: Partial<LostRecords> };

export type ToWorker =
  | { type: 'own-issuer'; issuer: string }
  | { type: 'metrics'; id: number }
  /** Stop listening, finish or cut the open requests, hand over usage and request records, exit. */
  | { type: 'stop' }
  | Reply;
