/** The store contract, run against the memory store and the Deno KV store. */
import assert from "node:assert/strict";
import { silentLogger } from "../support/log.ts";
import { openRedis } from "../redis/client.ts";
import { skipWithoutRedis, startRedis } from "../../tests/_support/redis.ts";
import { KvStore } from "./kv_store.ts";
import { RedisStore } from "./redis_store.ts";
import {
  MemoryStore,
  type NewEntry,
  type StoreLimits,
  type WebhookStore,
} from "./store.ts";

const LIMITS = { maxEntries: 3, maxBytes: 100_000, stateTtlMs: 60_000 };

function entry(channel: string, at = 1_000): NewEntry {
  return {
    appId: "1",
    url: "http://127.0.0.1:9/h",
    event: { name: "channel_occupied", channel },
    at,
  };
}

type Open = (
  now: () => number,
  limits?: StoreLimits,
) => Promise<WebhookStore & AsyncDisposable>;

function disposable(
  store: WebhookStore,
  after: () => Promise<void> = () => Promise.resolve(),
): WebhookStore & AsyncDisposable {
  return Object.assign(store, {
    async [Symbol.asyncDispose]() {
      await store.close();
      await after();
    },
  });
}

const stores: Array<[string, Open, boolean]> = [
  [
    "memory",
    (now, limits = LIMITS) =>
      Promise.resolve(disposable(new MemoryStore(limits, now))),
    false,
  ],
  [
    "kv",
    async (now, limits = LIMITS) =>
      disposable(new KvStore(await Deno.openKv(":memory:"), limits, now)),
    false,
  ],
  // Redis keeps its own clock (the lease's PX): its lease is the deployment suite's.
  [
    "redis",
    async (_now, limits = LIMITS) => {
      const redis = await startRedis();
      const client = await openRedis(redis.url, { log: silentLogger });
      await client.whenReady();
      return disposable(
        new RedisStore(client, limits, "test"),
        async () => await redis[Symbol.asyncDispose](),
      );
    },
    skipWithoutRedis(),
  ],
];

for (const [kind, open, ignore] of stores) {
  Deno.test({
    name: `${kind} store: queue order, due times, remove, reschedule, depth`,
    ignore,
  }, async () => {
    await using store = await open(() => 5_000);
    {
      assert.equal(await store.push([entry("a"), entry("b")]), "queued");
      const { entries } = await store.due(5_000, 10);
      assert.deepEqual(entries.map((e) => e.event), [
        { name: "channel_occupied", channel: "a" },
        { name: "channel_occupied", channel: "b" },
      ]);
      assert.equal((await store.depth()).count, 2);
      const [a, b] = entries;
      await store.reschedule([{ ...a!, attempts: 1, due: 9_000 }]);
      const later = await store.due(5_000, 10);
      assert.deepEqual(later.entries.map((e) => e.id), [b!.id]);
      assert.equal(later.next, 9_000);
      const retried = (await store.due(9_000, 10)).entries.find((e) =>
        e.id === a!.id
      );
      assert.equal(retried?.attempts, 1);
      await store.remove([a!, b!]);
      assert.deepEqual(await store.depth(), { count: 0, bytes: 0 });
    }
  });

  Deno.test({
    name:
      `${kind} store: bounded in entries and bytes; a full push still records the state`,
    ignore,
  }, async () => {
    await using store = await open(() => 5_000);
    {
      assert.equal(
        await store.push([entry("a"), entry("b"), entry("c")]),
        "queued",
      );
      assert.equal(
        await store.push([entry("d")], { key: "occupied:d", value: "1" }),
        "full",
      );
      assert.equal((await store.depth()).count, 3);
      // The state changed anyway: the same decision is not announced twice.
      assert.equal(
        await store.push([entry("d")], { key: "occupied:d", value: "1" }),
        "unchanged",
      );
      await using small = await open(() => 5_000, { ...LIMITS, maxBytes: 300 });
      assert.equal(await small.push([entry("a")]), "queued");
      assert.equal(await small.push([entry("b"), entry("c")]), "full");
      const held = await small.depth();
      assert.equal(held.count, 1);
      assert.ok(held.bytes > 0 && held.bytes <= 300);
    }
  });

  Deno.test({
    name: `${kind} store: the announced state lets one change through`,
    ignore,
  }, async () => {
    await using store = await open(() => 5_000);
    {
      const state = { key: "occupied:news", value: "1" };
      const results = await Promise.all([
        store.push([entry("news")], state),
        store.push([entry("news")], state),
        store.push([entry("news")], state),
      ]);
      assert.deepEqual(results.sort(), ["queued", "unchanged", "unchanged"]);
      assert.equal((await store.depth()).count, 1);
      const gone = { key: "occupied:news", value: null };
      assert.equal(await store.push([], gone), "queued");
      assert.equal(await store.push([], gone), "unchanged");
    }
  });

  if (kind !== "redis") {
    Deno.test({
      name: `${kind} store: one lease holder until it expires or is released`,
      ignore,
    }, async () => {
      let now = 0;
      await using store = await open(() => now);
      {
        assert.equal(await store.lease("a", 1_000), true);
        assert.equal(await store.lease("b", 1_000), false);
        now = 900;
        assert.equal(await store.lease("a", 1_000), true); // renewed
        now = 1_500;
        assert.equal(await store.lease("b", 1_000), false);
        now = 2_000;
        assert.equal(await store.lease("b", 1_000), true); // a's expired
        await store.release("b");
        assert.equal(await store.lease("a", 1_000), true);
      }
    });
  }
}

Deno.test("kv store: entries survive reopening the database", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/w.kv`;
    const first = new KvStore(await Deno.openKv(path), LIMITS);
    await first.push([entry("kept")]);
    await first.close();
    const second = new KvStore(await Deno.openKv(path), LIMITS);
    const { entries } = await second.due(Date.now(), 10);
    assert.deepEqual(entries.map((e) => e.event), [
      { name: "channel_occupied", channel: "kept" },
    ]);
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
