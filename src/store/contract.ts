import { afterEach, beforeEach, describe } from 'node:test';
import { adminKeysContract } from './contract/admin-keys.ts';
import { apisContract } from './contract/apis.ts';
import { appsContract } from './contract/apps.ts';
import { auditContract } from './contract/audit.ts';
import { clientsContract } from './contract/clients.ts';
import { consoleSessionsContract } from './contract/console-sessions.ts';
import { eventsContract } from './contract/events.ts';
import { exchangedTokensContract } from './contract/exchanged-tokens.ts';
import { keyRotationContract } from './contract/key-rotation.ts';
import { keyAddressContract } from './contract/key-addresses.ts';
import { keysContract } from './contract/keys.ts';
import { migrateContract } from './contract/migrate.ts';
import { namedListsContract } from './contract/named-lists.ts';
import { oidcContract } from './contract/oidc.ts';
import { policiesContract } from './contract/policies.ts';
import { portalContract } from './contract/portal.ts';
import { requestLogContract } from './contract/request-log.ts';
import { revocationsContract } from './contract/revocations.ts';
import { signingKeysContract } from './contract/signing-keys.ts';
import { usageAnalyticsContract } from './contract/usage-analytics.ts';
import { usageContract } from './contract/usage.ts';
import { usersContract } from './contract/users.ts';
import { webhooksContract } from './contract/webhooks.ts';
import type { Store } from './port.ts';

/** One area's suite: its tests read the store under test through `current`, fresh for each test. */
export type StoreSuite = (current: () => Store) => void;

/** Every area of the store port, one suite (and one file in contract/) each. */
export const STORE_SUITES: readonly StoreSuite[] = [
  apisContract,
  appsContract,
  policiesContract,
  namedListsContract,
  keysContract,
  usageContract,
  adminKeysContract,
  auditContract,
  usersContract,
  clientsContract,
  signingKeysContract,
  oidcContract,
  revocationsContract,
  requestLogContract,
  usageAnalyticsContract,
  keyAddressContract,
  eventsContract,
  exchangedTokensContract,
  keyRotationContract,
  webhooksContract,
  consoleSessionsContract,
  portalContract,
  migrateContract,
];

/**
 * The behaviour every Store adapter must show, unchanged. `open` returns a fresh, empty, migrated
 * store for each test; the suite closes it.
 */
export function runStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });
    for (const suite of STORE_SUITES) suite(() => store);
  });
}
