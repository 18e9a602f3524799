/**
 * Pusher across isolates and nodes: pusher-js clients on two servers that
 * share a bus and a log (two isolates on BroadcastChannel in this process;
 * two `main.ts` processes on a real Redis) see one presence channel and one
 * public channel: `member_added`/`member_removed` once, the same events in
 * the same order, HTTP API calls made on one node reaching both, counts
 * and cache channels right across them, and `terminate_connections` on one
 * node closing the user's connection on the other.
 */

import assert from "node:assert/strict";
import { broadcastChannelTransport } from "../../lib/bus/broadcast_channel.ts";
import { MemoryLog } from "../../lib/room_log/memory.ts";
import { type Spawned, spawnServer } from "../_support/process.ts";
import {
  connectPusher,
  EventLog,
  type PusherClient,
  pusherEnv,
  serverSdk,
  signIn,
  startPusherServer,
  subscribed,
} from "../_support/pusher.ts";
import { skipWithoutRedis, startRedis } from "../_support/redis.ts";

const ENV = {
  ...pusherEnv({ enable_subscription_count: true }),
  PUSHER_SUBSCRIPTION_COUNT_MS: "0",
  PRESENCE_INTERVAL_MS: "200",
  PRESENCE_TIMEOUT_MS: "2000",
};

type Node = { port: number };

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What the nodes `a` and `b` must show, with a pusher-js client on each. */
async function exercise(a: Node, b: Node): Promise<void> {
  const alice = await connectPusher(a, { id: "alice" });
  const bob = await connectPusher(b, { id: "bob" });
  const clients: PusherClient[] = [alice, bob];
  try {
    // Presence: each hears the other once, never itself.
    await subscribed(alice, "presence-team");
    const added = new EventLog<{ id: string }>(
      alice,
      "presence-team",
      "pusher:member_added",
    );
    const removed = new EventLog<{ id: string }>(
      alice,
      "presence-team",
      "pusher:member_removed",
    );
    await subscribed(bob, "presence-team");
    assert.deepEqual((await added.waitFor(1)).map((m) => m.id), ["bob"]);

    // One public channel: the same events in the same order on both nodes,
    // triggered through the HTTP API of either node.
    await subscribed(alice, "news");
    await subscribed(bob, "news");
    const atAlice = new EventLog<{ n: number; via: string }>(
      alice,
      "news",
      "item",
    );
    const atBob = new EventLog<{ n: number; via: string }>(bob, "news", "item");
    const sdkA = serverSdk(a);
    const sdkB = serverSdk(b);
    const sends: Array<Promise<unknown>> = [];
    for (let n = 0; n < 20; n++) {
      sends.push((n % 2 === 0 ? sdkA : sdkB).trigger("news", "item", { n }));
    }
    await Promise.all(sends);
    const seenA = await atAlice.waitFor(20);
    const seenB = await atBob.waitFor(20);
    assert.deepEqual(seenB, seenA);
    assert.deepEqual(seenA.map((e) => e.n).sort((x, y) => x - y), [
      ...Array(20).keys(),
    ]);

    // Counts across nodes: the API of either node, and subscription_count.
    // pusher-js keeps the last pusher_internal:subscription_count it got.
    await until(() => alice.channel("news").subscriptionCount === 2);
    for (const sdk of [sdkA, sdkB]) {
      await until(async () => {
        const res = await sdk.get({
          path: "/channels",
          params: {
            "filter_by_prefix": "presence-",
            info: "user_count,subscription_count",
          },
        });
        const body = await res.json();
        return JSON.stringify(body) === JSON.stringify({
          channels: {
            "presence-team": { "user_count": 2, "subscription_count": 2 },
          },
        });
      });
      const res = await sdk.get({
        path: "/channels/news",
        params: { info: "subscription_count" },
      });
      assert.deepEqual(await res.json(), {
        occupied: true,
        "subscription_count": 2,
      });
    }

    // A cache channel filled through node A replays on node B.
    await sdkA.trigger("cache-weather", "report", { sky: "clear" });
    bob.subscribe("cache-weather");
    const report = new EventLog(bob, "cache-weather", "report");
    assert.deepEqual(await report.waitFor(1), [{ sky: "clear" }]);

    // sendToUser and terminate_connections called on A reach Bob on B.
    await signIn(bob);
    const notices: unknown[] = [];
    bob.user.bind("notice", (data: unknown) => notices.push(data));
    await sdkA.sendToUser("bob", "notice", "hello from A");
    await until(() => notices.length === 1);
    assert.deepEqual(notices, ["hello from A"]);
    let code: number | undefined;
    bob.connection.bind("error", (error: { data?: { code?: number } }) => {
      if (typeof error.data?.code === "number") code = error.data.code;
    });
    await sdkA.terminateUserConnections("bob");
    await until(() => code !== undefined);
    assert.equal(code, 4009);
    // Bob left presence once, as seen on A.
    assert.deepEqual((await removed.waitFor(1)).map((m) => m.id), ["bob"]);
    assert.equal(added.events.length, 1);
  } finally {
    for (const client of clients) client.disconnect();
  }
}

Deno.test("Pusher across two isolates (BroadcastChannel, one log): presence, order, API, counts, cache, sendToUser, terminate", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  const history = new MemoryLog({ maxMessages: 5_000, ttlMs: 60_000 });
  await using a = await startPusherServer({
    env: ENV,
    transport: broadcastChannelTransport(channel),
    history,
  });
  await using b = await startPusherServer({
    env: ENV,
    transport: broadcastChannelTransport(channel),
    history,
  });
  await exercise({ port: a.addr.port }, { port: b.addr.port });
});

Deno.test({
  name:
    "Pusher across two main.ts processes on Redis: presence once, same order, API on one node reaches both, counts, terminate",
  ignore: skipWithoutRedis(),
  sanitizeResources: false,
  async fn() {
    await using redis = await startRedis();
    const nodes: Spawned[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        nodes.push(await spawnServer({ ...ENV, REDIS_URL: redis.url }));
      }
      await exercise(nodes[0]!, nodes[1]!);
    } finally {
      for (const node of nodes) await node[Symbol.asyncDispose]();
    }
  },
});
