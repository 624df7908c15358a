import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { startGatehouse, type Gatehouse } from '../src/gatehouse.ts';

const PEPPER = 'pepper-H-0123456789abcdefghijklmnopqrstuvwxyz';

// The redirect listener sends plain HTTP to the HTTPS gateway; without gateway.tls the start went on
// without it, and nothing said the configured port was never listened on.
test('gateway.httpRedirectPort without gateway.tls refuses to start, naming both; a control node, which has no gateway, starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redirect-no-tls-'));
  try {
    const config = loadConfig({
      env: {
        GATEHOUSE_DATA_DIR: dir,
        GATEHOUSE_PEPPER: PEPPER,
        GATEHOUSE_GATEWAY_PORT: '0',
        GATEHOUSE_CONTROL_PORT: '0',
        GATEHOUSE_GATEWAY_WORKERS: '1',
        GATEHOUSE_GATEWAY_HTTP_REDIRECT_PORT: '0',
      },
    });
    const logger = pino({ level: 'silent' });
    const held: { gh?: Gatehouse } = {};
    try {
      await assert.rejects(
        async () => {
          held.gh = await startGatehouse(config, { logger });
        },
        (error: unknown) => error instanceof ConfigError && /gateway\.httpRedirectPort/.test(error.message) && /gateway\.tls/.test(error.message),
      );
    } finally {
      await held.gh?.close();
    }
    const control = await startGatehouse(config, { logger, role: 'control' });
    await control.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
