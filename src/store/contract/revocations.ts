import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../port.ts';
import { T0 } from './fixtures.ts';

/** The revocation list: read by time, kept until expiry. */
export function revocationsContract(current: () => Store): void {
  describe('revocations', () => {
    test('since lists revocations from a time that have not expired, oldest first; deleteExpired drops the rest', async () => {
      const { revocations } = current();
      await revocations.add({ kind: 'grant', id: 'g1', revokedAt: T0, expiresAt: T0 + 100 });
      await revocations.add({ kind: 'token', id: 'j1', revokedAt: T0 + 10, expiresAt: T0 + 20 });
      await revocations.add({ kind: 'grant', id: 'g2', revokedAt: T0 + 30, expiresAt: T0 + 200 });
      assert.deepEqual(
        (await revocations.since(T0 + 5, T0 + 15)).map((r) => r.id),
        ['j1', 'g2'],
      );
      assert.deepEqual(
        (await revocations.since(0, T0 + 50)).map((r) => r.id),
        ['g1', 'g2'],
      );
      assert.equal(await revocations.deleteExpired(T0 + 50), 1);
      assert.equal((await revocations.since(0, 0)).length, 2);
    });

    test('adding the same revocation again keeps the later expiry', async () => {
      const { revocations } = current();
      await revocations.add({ kind: 'grant', id: 'g1', revokedAt: T0, expiresAt: T0 + 100 });
      await revocations.add({ kind: 'grant', id: 'g1', revokedAt: T0 + 1, expiresAt: T0 + 50 });
      assert.deepEqual(await revocations.since(0, T0), [{ kind: 'grant', id: 'g1', revokedAt: T0, expiresAt: T0 + 100 }]);
    });
  });
}
