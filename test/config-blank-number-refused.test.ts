import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';

const PEPPER = 'pepper-A-0123456789abcdefghijklmnopqrstuvwxyz';

function loadYaml(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-blank-'));
  try {
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, text);
    return loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function refusal(text: string): string {
  try {
    const config = loadYaml(text);
    assert.fail(`accepted: gateway.port ${config.gateway.port}, hsts ${config.gateway.hstsMaxAgeSeconds}, poll ${config.changes.pollIntervalSeconds}`);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
}

test('a numeric setting left blank in the file (YAML null) is refused naming it, not read as 0', () => {
  // Read as 0: the gateway on a random port, HSTS off, and changes made on other nodes never read.
  assert.match(refusal('gateway:\n  port:\n'), /gateway\.port/);
  assert.match(refusal('gateway:\n  hstsMaxAgeSeconds:\n'), /gateway\.hstsMaxAgeSeconds/);
  assert.match(refusal('changes:\n  pollIntervalSeconds:\n'), /changes\.pollIntervalSeconds/);
});

test('true, false or an empty string for a numeric setting is refused, not read as 1 or 0', () => {
  assert.match(refusal('gateway:\n  shutdownGraceSeconds: false\n'), /gateway\.shutdownGraceSeconds/);
  assert.match(refusal('control:\n  port: true\n'), /control\.port/);
  assert.match(refusal('gateway:\n  maxBodyBytes: ""\n'), /gateway\.maxBodyBytes/);
});

test('numbers and numeric strings are still accepted', () => {
  const config = loadYaml('gateway:\n  port: 8443\n  hstsMaxAgeSeconds: "600"\nchanges:\n  pollIntervalSeconds: 0.5\n');
  assert.equal(config.gateway.port, 8443);
  assert.equal(config.gateway.hstsMaxAgeSeconds, 600);
  assert.equal(config.changes.pollIntervalSeconds, 0.5);
});
