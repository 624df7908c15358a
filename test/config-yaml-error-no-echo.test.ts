import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';

const SECRET = 'hunter2-0123456789abcdefghijklmnopqrstuvwxyz';

// A secret written into the config file is refused without being echoed (test/config.test.ts); a YAML
// mistake near it must not echo it either: yaml's pretty errors and warnings quote the lines around.
test('a config file that is not valid YAML is refused with the line and column, never the text around the mistake', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-yaml-echo-'));
  const warnings: string[] = [];
  const onWarning = (warning: Error) => void warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  try {
    const load = (yaml: string) => {
      const file = join(dir, 'gatehouse.yaml');
      writeFileSync(file, yaml);
      return () => loadConfig({ file, env: { GATEHOUSE_DATA_DIR: dir }, secretsRequired: false });
    };
    for (const [yaml, line] of [
      [`store:\n  passwordFile: /run/secrets/store\n password: ${SECRET}\n`, 3],
      [`redis:\n  url: "redis://:${SECRET}@redis:6379\nstore:\n  driver: sqlite\n`, 5],
    ] as const) {
      assert.throws(load(yaml), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(!error.message.includes(SECRET), error.message);
        assert.match(error.message, /is not valid YAML: .* \(line \d+, column \d+\)$/);
        assert.ok(error.message.includes(`line ${line}`), error.message);
        return true;
      });
    }
    // A warning (here an unknown tag) is not printed with the line either; the secret is then refused by name.
    assert.throws(load(`secrets:\n  pepper: !secret ${SECRET}\n`), (error: unknown) => error instanceof ConfigError && !error.message.includes(SECRET));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(warnings.length > 0, 'the unknown tag is still warned about');
    for (const warning of warnings) assert.ok(!warning.includes(SECRET), warning);
  } finally {
    process.off('warning', onWarning);
    rmSync(dir, { recursive: true, force: true });
  }
});
