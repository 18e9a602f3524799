/**
 * Webhook delivery under trouble: a queued webhook survives a crash (the
 * Deno KV queue of `main.ts`: SIGKILL, restart on the same database, the
 * event arrives; the Redis queue: the node that queued it is killed, another
 * node sends it), and a target that never answers slows nothing: every
 * client event and HTTP API event still reaches the subscribers while the
 * queue stays within `WEBHOOK_QUEUE_MAX` and the rest is counted as dropped.
 */

import assert from "node:assert/strict";
import { spawnServer } from "../_support/process.ts";
import {
  connectPusher,
  EventLog,
  serverSdk,
  startPusherServer,
  subscribed,
} from "../_support/pusher.ts";
import { skipWithoutRedis, startRedis } from "../_support/redis.ts";
import { named, startReceiver, webhookEnv } from "../_support/webhooks.ts";

Deno.test({
  name:
    "webhooks: a webhook queued in Deno KV when the process is killed arrives after the restart",
  sanitizeResources: false,
  async fn() {
    await using receiver = startReceiver({ answer: "fail" });
    const dir = await Deno.makeTempDir();
    const env = {
      ...webhookEnv([receiver.url]),
      KV_PATH: `${dir}/roomcast.kv`,
    };
    try {
      {
        await using first = await spawnServer(env);
        const client = await connectPusher(first);
        try {
          await subscribed(client, "durable");
          // Tried and refused: it is in the queue now.
          await receiver.until(() => receiver.requests >= 1);
        } finally {
          client.disconnect();
        }
        first.process.kill("SIGKILL");
        await first.process.status;
      }
      assert.equal(receiver.events.length, 0);
      receiver.answer = "ok";
      await using second = await spawnServer(env);
      await receiver.until((events) =>
        named(events, "channel_occupied", "durable").length >= 1
      );
      assert.deepEqual(named(receiver.events, "channel_occupied"), [
        { name: "channel_occupied", channel: "durable" },
      ]);
      assert.ok(second.port > 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "webhooks: a webhook queued in Redis by a node that is killed is sent by another node",
  ignore: skipWithoutRedis(),
  sanitizeResources: false,
  async fn() {
    await using receiver = startReceiver({ answer: "fail" });
    await using redis = await startRedis();
    const env = { ...webhookEnv([receiver.url]), REDIS_URL: redis.url };
    {
      await using first = await spawnServer(env);
      const client = await connectPusher(first);
      try {
        await subscribed(client, "kept");
        await receiver.until(() => receiver.requests >= 1);
      } finally {
        client.disconnect();
      }
      first.process.kill("SIGKILL");
      await first.process.status;
    }
    receiver.answer = "ok";
    await using second = await spawnServer(env);
    await receiver.until((events) =>
      named(events, "channel_occupied", "kept").length >= 1
    );
    assert.deepEqual(named(receiver.events, "channel_occupied"), [
      { name: "channel_occupied", channel: "kept" },
    ]);
    assert.ok(second.port > 0);
  },
});

Deno.test("webhooks: a target that never answers slows no delivery; the queue stays bounded and drops are counted", async () => {
  await using receiver = startReceiver({ answer: "hang" });
  await using server = await startPusherServer({
    env: {
      ...webhookEnv([receiver.url], { max_client_events_per_second: 10_000 }),
      WEBHOOK_TIMEOUT_MS: "60000",
      WEBHOOK_QUEUE_MAX: "20",
    },
  });
  const sender = await connectPusher(server, { id: "s" });
  const reader = await connectPusher(server, { id: "r" });
  try {
    await subscribed(sender, "private-flood");
    await subscribed(reader, "private-flood");
    await subscribed(reader, "news");
    const clientEvents = new EventLog(reader, "private-flood", "client-n");
    const apiEvents = new EventLog(reader, "news", "tick");
    await receiver.until(() => receiver.requests >= 1); // the first request hangs
    for (let n = 0; n < 100; n++) {
      sender.channel("private-flood").trigger("client-n", { n });
    }
    const sdk = serverSdk(server);
    for (let n = 0; n < 50; n++) await sdk.trigger("news", "tick", { n });
    assert.equal((await clientEvents.waitFor(100)).length, 100);
    assert.equal((await apiEvents.waitFor(50)).length, 50);
    const queued = server.metrics.get("webhook_queued_total");
    const dropped = server.metrics.get("webhook_dropped_total", "queue_full");
    assert.ok(queued <= 20, `queued ${queued}`);
    assert.ok(dropped >= 100 - 20, `dropped ${dropped}`);
    assert.equal(server.metrics.get("webhook_sent_total"), 0);
    assert.equal(receiver.requests, 1); // one request in flight per URL
  } finally {
    sender.disconnect();
    reader.disconnect();
  }
});
