import type { AdminKey, Api, ApiKey, App, AuditEntry, AuditInput, Policy } from '../domain/entities.ts';

/**
 * The storage port. Every adapter (SQLite now; PostgreSQL next) implements it and passes the same
 * contract suite (store/contract.ts) unchanged. Each change takes its audit entry and the adapter
 * writes both atomically, so no change can reach the store without its audit record.
 */
export interface Store {
  readonly apis: EntityRepo<Api> & { all(): Promise<Api[]> };
  readonly apps: EntityRepo<App>;
  readonly policies: EntityRepo<Policy>;
  readonly keys: KeyRepo;
  readonly adminKeys: AdminKeyRepo;
  readonly audit: AuditRepo;
  readonly usage: UsageRepo;
  /** Applies pending migrations; returns how many ran. */
  migrate(): Promise<number>;
  close(): Promise<void>;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface PageQuery {
  limit: number;
  cursor?: string | undefined;
}

export interface EntityRepo<T extends { id: string }> {
  create(entity: T, audit: AuditInput): Promise<void>;
  get(id: string): Promise<T | null>;
  list(query: PageQuery): Promise<Page<T>>;
  /** Replaces the stored entity; false when it does not exist. */
  update(entity: T, audit: AuditInput): Promise<boolean>;
  delete(id: string, audit: AuditInput): Promise<boolean>;
}

export type KeyStatusFilter = 'active' | 'disabled' | 'expired' | 'revoked';

export interface KeyListQuery extends PageQuery {
  appId?: string | undefined;
  apiId?: string | undefined;
  environment?: string | undefined;
  status?: KeyStatusFilter | undefined;
  /** Reference time for the status filter. */
  now: number;
}

export interface KeyRepo extends Omit<EntityRepo<ApiKey>, 'list'> {
  findByHash(hash: string): Promise<ApiKey | null>;
  list(query: KeyListQuery): Promise<Page<ApiKey>>;
  /** Stores the successor and the updated predecessor in one transaction. */
  rotate(previous: ApiKey, successor: ApiKey, audit: AuditInput): Promise<boolean>;
}

export interface AdminKeyRepo {
  create(key: AdminKey, audit: AuditInput): Promise<void>;
  findByHash(hash: string): Promise<AdminKey | null>;
  list(): Promise<AdminKey[]>;
  revoke(id: string, at: number, audit: AuditInput): Promise<boolean>;
}

export interface AuditQuery extends PageQuery {
  targetId?: string | undefined;
  action?: string | undefined;
}

export interface AuditRepo {
  /** Newest first. */
  list(query: AuditQuery): Promise<Page<AuditEntry>>;
}

/** Usage flushed in batches from the in-memory counters; never written on the request path. */
export interface UsageBatch {
  keys: { keyId: string; day: string; requests: number; lastUsedAt: number }[];
  // Counts are deltas since the previous batch, so batches add up whatever their order.
  quotas: { keyId: string; period: string; delta: number }[];
}

export interface UsageRepo {
  record(batch: UsageBatch): Promise<void>;
  quotaUsed(keyId: string, period: string): Promise<number>;
  requestsByDay(keyId: string): Promise<{ day: string; requests: number }[]>;
}

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}
