/** WebhookOutbox: one store write per batch, bounded waiting, drops while the store is full. */
import assert from "node:assert/strict";
import { WebhookOutbox } from "./outbox.ts";
import {
  MemoryStore,
  type NewEntry,
  type PushResult,
  type StateChange,
} from "./store.ts";

function entry(n: number): NewEntry {
  return {
    appId: "1",
    url: "http://127.0.0.1:9/h",
    event: {
      name: "client_event",
      channel: "private-x",
      event: "client-n",
      data: String(n),
      "socket_id": "1.1",
    },
    at: 1,
  };
}

class CountingStore extends MemoryStore {
  pushes = 0;
  override push(
    entries: readonly NewEntry[],
    state?: StateChange,
  ): Promise<PushResult> {
    this.pushes += 1;
    return super.push(entries, state);
  }
}

function outbox(store: CountingStore, maxEntries = 1_000) {
  const counts = { queued: 0, dropped: 0 };
  const box = new WebhookOutbox({
    store: Promise.resolve(store),
    maxEntries,
    maxBytes: 1_000_000,
    fullHoldMs: 60_000,
    onQueued: (n) => counts.queued += n,
    onDropped: (n) => counts.dropped += n,
  });
  return { box, counts };
}

Deno.test("outbox: events of one turn reach the store in one write", async () => {
  const store = new CountingStore({
    maxEntries: 1_000,
    maxBytes: 1_000_000,
    stateTtlMs: 1_000,
  });
  const { box, counts } = outbox(store);
  for (let n = 0; n < 300; n++) box.add([entry(n)]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(store.pushes, 1);
  assert.equal(counts.queued, 300);
  assert.equal((await store.depth()).count, 300);
  await box.close();
});

Deno.test("outbox: bounded while waiting; once the store says full, events are dropped without asking it", async () => {
  const store = new CountingStore({
    maxEntries: 10,
    maxBytes: 1_000_000,
    stateTtlMs: 1_000,
  });
  const { box, counts } = outbox(store, 50);
  for (let n = 0; n < 80; n++) box.add([entry(n)]);
  assert.equal(counts.dropped, 30); // past the 50 that may wait
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(counts.queued, 0); // the batch of 50 did not fit in 10
  assert.equal(counts.dropped, 80);
  const pushes = store.pushes;
  for (let n = 0; n < 100; n++) box.add([entry(n)]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(store.pushes, pushes); // held: the store is not asked again
  assert.equal(counts.dropped, 180);
  assert.deepEqual(box.size, { entries: 0, bytes: 0, decisions: 0 });
  await box.close();
});
