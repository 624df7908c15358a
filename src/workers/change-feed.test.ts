import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { createLocalChangeBus, type ChangeEvent } from '../events/change-bus.ts';
import { ChangeBroadcast, ChangeFeed } from './change-feed.ts';

test('an event published by the control plane is applied by the next sync, before any message event could run', () => {
  const main = createLocalChangeBus();
  const broadcast = new ChangeBroadcast(main);
  const channel = new MessageChannel();
  broadcast.attach(0, channel.port1);
  const local = createLocalChangeBus();
  const seen: ChangeEvent[] = [];
  local.subscribe((event) => seen.push(event));
  const feed = new ChangeFeed(channel.port2, broadcast.generation, local);
  try {
    feed.sync();
    assert.deepEqual(seen, [], 'nothing published yet');
    main.publish({ type: 'key.changed', keyId: 'key_1' });
    main.publish({ type: 'token.revoked', kind: 'grant', id: 'g1' });
    // Same turn of the event loop: only the synchronous path can have delivered them.
    feed.sync();
    assert.deepEqual(seen, [
      { type: 'key.changed', keyId: 'key_1' },
      { type: 'token.revoked', kind: 'grant', id: 'g1' },
    ]);
    feed.sync();
    assert.equal(seen.length, 2, 'each event is applied once');
  } finally {
    feed.close();
    broadcast.detach(0);
  }
});
