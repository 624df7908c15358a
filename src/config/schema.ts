import { z } from 'zod';
import { apiInputSchema } from '../control/admin/schemas.ts';

const listener = (port: number) =>
  z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(port),
  });

/** One schema for the YAML file and GATEHOUSE_* variables; parsed once at start, then frozen. */
export const configSchema = z.strictObject({
  gateway: listener(8080)
    .extend({
      /** Largest request head the gateway reads (bytes). */
      maxHeaderBytes: z.coerce.number().int().min(1024).max(1_048_576).default(16_384),
    })
    .prefault({}),
  control: listener(8081).prefault({}),
  dataDir: z.string().min(1).default('./.gatehouse'),
  store: z
    .strictObject({
      driver: z.literal('sqlite').default('sqlite'),
      /** Defaults to <dataDir>/gatehouse.db. */
      path: z.string().min(1).optional(),
    })
    .prefault({}),
  secrets: z
    .strictObject({
      /** Files holding the secrets; the values themselves never belong in this file. */
      pepperFile: z.string().min(1).optional(),
      previousPeppersFile: z.string().min(1).optional(),
      masterKeyFile: z.string().min(1).optional(),
    })
    .prefault({}),
  cache: z
    .strictObject({
      keyEntries: z.coerce.number().int().min(1).default(100_000),
      keyTtlSeconds: z.coerce.number().min(0.001).default(60),
      negativeTtlSeconds: z.coerce.number().min(0.001).default(10),
    })
    .prefault({}),
  usage: z.strictObject({ flushIntervalSeconds: z.coerce.number().min(0.01).default(5) }).prefault({}),
  authFailures: z
    .strictObject({
      /** Failed credential checks one client IP may make per window before it is refused outright. */
      limit: z.coerce.number().int().min(1).default(30),
      windowSeconds: z.coerce.number().min(1).default(60),
    })
    .prefault({}),
  admin: z.strictObject({ maxBodyBytes: z.coerce.number().int().min(1024).default(65_536) }).prefault({}),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .prefault({}),
  /** APIs declared here are created or updated by name at start. */
  apis: z.array(apiInputSchema).default([]),
});

export type ParsedConfig = z.output<typeof configSchema>;
