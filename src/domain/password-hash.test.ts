import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { DECOY_PASSWORD_HASH, needsRehash, verifyPassword } from './password-hash.ts';

describe('password hashes', () => {
  test('importing the module computes no scrypt (the decoy hash is made on first use)', () => {
    // scrypt is replaced before the import; a call at import time would reject and fail the process.
    const script = `
      import crypto from 'node:crypto';
      import { syncBuiltinESMExports } from 'node:module';
      crypto.scrypt = () => { throw new Error('scrypt ran at import'); };
      syncBuiltinESMExports();
      await import(${JSON.stringify(new URL('./password-hash.ts', import.meta.url).href)});
      await new Promise((resolve) => setTimeout(resolve, 50));
      console.log('imported');`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'imported');
  });

  test('the decoy hash is made once, at today’s cost, and no password matches it', async () => {
    const first = await DECOY_PASSWORD_HASH;
    assert.equal(await DECOY_PASSWORD_HASH, first);
    assert.match(first, /^\$scrypt\$ln=15,r=8,p=1\$/);
    assert.equal(needsRehash(first), false);
    assert.equal(await verifyPassword(first, ''), false);
  });
});
