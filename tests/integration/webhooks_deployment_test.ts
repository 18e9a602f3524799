/**
 * Webhooks once per deployment: pusher-js clients on two isolates of one
 * `main.ts --parallel` process (the Deno KV store shared by both Workers)
 * and on two `main.ts` processes on one real Redis cause the same state
 * changes on both; the receiver (checking with the `pusher` SDK) gets each
 * event exactly once. A marker channel subscribed last is the barrier: any
 * duplicate would have been queued before its `channel_occupied`.
 */

import assert from "node:assert/strict";
import { type Spawned, spawnServer } from "../_support/process.ts";
import {
  connectPusher,
  type PusherClient,
  subscribed,
} from "../_support/pusher.ts";
import { skipWithoutRedis, startRedis } from "../_support/redis.ts";
import {
  named,
  type Receiver,
  startReceiver,
  webhookEnv,
} from "../_support/webhooks.ts";

type Node = { port: number };

/** Two pusher-js clients of user `dana` served by different isolates or nodes. */
async function twoClients(
  a: Node,
  b: Node,
): Promise<[PusherClient, PusherClient, PusherClient[]]> {
  const all: PusherClient[] = [];
  const first = await connectPusher(a, { id: "dana" });
  all.push(first);
  const isolate = (c: PusherClient) => c.connection.socket_id.split(".")[0];
  for (let i = 0; i < 60; i++) {
    const other = await connectPusher(b, { id: "dana" });
    all.push(other);
    if (isolate(other) !== isolate(first)) return [first, other, all];
  }
  throw new Error("Connections never spread over the isolates");
}

async function exercise(receiver: Receiver, a: Node, b: Node): Promise<void> {
  const [x, y, all] = await twoClients(a, b);
  try {
    for (const client of [x, y]) {
      await subscribed(client, "shared");
      await subscribed(client, "presence-crew");
    }
    await subscribed(x, "private-talk");
    x.channel("private-talk").trigger("client-ping", { n: 1 });
    await receiver.until((e) =>
      named(e, "member_added", "presence-crew").length >= 1 &&
      named(e, "client_event").length >= 1 &&
      named(e, "subscription_count", "shared").some((c) =>
        c.subscription_count === 2
      )
    );
    for (const client of [x, y]) {
      client.unsubscribe("shared");
      client.unsubscribe("presence-crew");
    }
    x.unsubscribe("private-talk");
    await receiver.until((e) =>
      named(e, "channel_vacated", "shared").length >= 1 &&
      named(e, "member_removed", "presence-crew").length >= 1 &&
      named(e, "channel_vacated", "presence-crew").length >= 1
    );
    // Barrier: everything decided before this was queued before it.
    await subscribed(y, "marker");
    await receiver.until((e) =>
      named(e, "channel_occupied", "marker").length === 1
    );
    const once = (name: string, channel: string) =>
      assert.equal(
        named(receiver.events, name, channel).length,
        1,
        `${name} ${channel}: ${JSON.stringify(receiver.events)}`,
      );
    once("channel_occupied", "shared");
    once("channel_vacated", "shared");
    once("channel_occupied", "presence-crew");
    once("member_added", "presence-crew");
    once("member_removed", "presence-crew");
    once("channel_vacated", "presence-crew");
    once("client_event", "private-talk");
    const counts = named(receiver.events, "subscription_count", "shared")
      .map((e) => e.subscription_count);
    assert.equal(counts.filter((n) => n === 2).length, 1, String(counts));
    assert.equal(counts.at(-1), 0, JSON.stringify(counts));
    for (let i = 1; i < counts.length; i++) {
      assert.notEqual(counts[i], counts[i - 1], JSON.stringify(counts));
    }
    assert.equal(receiver.invalid, 0);
  } finally {
    for (const client of all) client.disconnect();
  }
}

/** Runs `fn`; a failure carries the servers' logs. */
async function explained(
  fn: () => Promise<void>,
  ...servers: Spawned[]
): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const logs = servers.map((s) => s.output()).join("\n");
    throw new Error(`${String(error)}\n${logs}`);
  }
}

Deno.test({
  name:
    "webhooks under --parallel: two isolates, one KV store, each event once",
  sanitizeResources: false,
  async fn() {
    await using receiver = startReceiver();
    await using server: Spawned = await spawnServer(
      { ...webhookEnv([receiver.url]), WORKERS: "2" },
      ["--parallel"],
    );
    await explained(() => exercise(receiver, server, server), server);
  },
});

Deno.test({
  name: "webhooks on two main.ts processes on one Redis: each event once",
  ignore: skipWithoutRedis(),
  sanitizeResources: false,
  async fn() {
    await using receiver = startReceiver();
    await using redis = await startRedis();
    const env = { ...webhookEnv([receiver.url]), REDIS_URL: redis.url };
    await using a = await spawnServer(env);
    await using b = await spawnServer(env);
    await explained(() => exercise(receiver, a, b), a, b);
  },
});
