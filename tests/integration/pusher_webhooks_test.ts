/**
 * Webhooks on one server, end to end: pusher-js clients and a roomcast SDK
 * client cause the events, a real HTTP receiver checks every request with
 * the unmodified `pusher` SDK (`webhook().isValid()`, `getEvents()`):
 * Pusher's shapes, per-URL event filters, the vacate delay cancelled by a
 * return, batching, retries after failures and drops counted on /metrics.
 */

import assert from "node:assert/strict";
import { createClient } from "../../lib/client/mod.ts";
import {
  connectPusher,
  type PusherClient,
  startPusherServer,
  subscribed,
} from "../_support/pusher.ts";
import {
  named,
  type Receiver,
  startReceiver,
  webhookEnv,
} from "../_support/webhooks.ts";

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** Resolves once `check()` holds (polled); throws after 20 s. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until the receiver holds events named `name` (on `channel`), and returns them. */
async function arrived(
  receiver: Receiver,
  name: string,
  channel: string,
  count = 1,
) {
  await receiver.until((events) =>
    named(events, name, channel).length >= count
  );
  return named(receiver.events, name, channel);
}

Deno.test("webhooks: occupied, subscription_count and vacated of a public channel, signed for the pusher SDK", async () => {
  await using receiver = startReceiver();
  await using server = await startPusherServer({
    env: webhookEnv([receiver.url]),
  });
  const client = await connectPusher(server);
  try {
    await subscribed(client, "news");
    assert.deepEqual(await arrived(receiver, "channel_occupied", "news"), [
      { name: "channel_occupied", channel: "news" },
    ]);
    assert.deepEqual(await arrived(receiver, "subscription_count", "news"), [
      { name: "subscription_count", channel: "news", subscription_count: 1 },
    ]);
    client.unsubscribe("news");
    assert.deepEqual(await arrived(receiver, "channel_vacated", "news"), [
      { name: "channel_vacated", channel: "news" },
    ]);
    await arrived(receiver, "subscription_count", "news", 2);
    assert.equal(
      named(receiver.events, "subscription_count", "news")[1]
        ?.subscription_count,
      0,
    );
    assert.equal(receiver.invalid, 0);
    assert.equal(named(receiver.events, "channel_occupied").length, 1);
    await until(() => server.metrics.get("webhook_sent_total") >= 4);
  } finally {
    client.disconnect();
  }
});

Deno.test("webhooks: a return within the vacate delay fires nothing; vacated and member_removed come once at the end", async () => {
  await using receiver = startReceiver();
  await using server = await startPusherServer({
    env: { ...webhookEnv([receiver.url]), WEBHOOK_VACATE_DELAY_MS: "1500" },
  });
  const alice = await connectPusher(server, { id: "alice" });
  try {
    await subscribed(alice, "presence-room");
    await arrived(receiver, "member_added", "presence-room");
    // A reload: leave and come back at once, well inside the delay.
    alice.unsubscribe("presence-room");
    await settle();
    await subscribed(alice, "presence-room");
    alice.unsubscribe("presence-room");
    await arrived(receiver, "channel_vacated", "presence-room");
    await arrived(receiver, "member_removed", "presence-room");
    const kinds = receiver.events
      .filter((e) => e.channel === "presence-room")
      .map((e) => e.name);
    assert.equal(kinds.filter((k) => k === "channel_occupied").length, 1);
    assert.equal(kinds.filter((k) => k === "member_added").length, 1);
    assert.equal(kinds.filter((k) => k === "channel_vacated").length, 1);
    assert.equal(kinds.filter((k) => k === "member_removed").length, 1);
    assert.deepEqual(named(receiver.events, "member_removed")[0], {
      name: "member_removed",
      channel: "presence-room",
      user_id: "alice",
    });
  } finally {
    alice.disconnect();
  }
});

Deno.test("webhooks: client_event (with user_id on presence) and cache_miss; event_types filters per URL", async () => {
  await using all = startReceiver();
  await using clientOnly = startReceiver();
  await using server = await startPusherServer({
    env: webhookEnv([all.url, {
      url: clientOnly.url,
      "event_types": ["client_event"],
    }]),
  });
  const bob = await connectPusher(server, { id: "bob" });
  try {
    await subscribed(bob, "private-chat");
    await subscribed(bob, "presence-lobby");
    bob.channel("private-chat").trigger("client-typing", { who: "bob" });
    bob.channel("presence-lobby").trigger("client-wave", "hi");
    await subscribed(bob, "cache-prices");
    const privateEvent =
      (await arrived(all, "client_event", "private-chat"))[0]!;
    assert.equal(privateEvent.event, "client-typing");
    assert.deepEqual(JSON.parse(String(privateEvent.data)), { who: "bob" });
    assert.equal(privateEvent.socket_id, bob.connection.socket_id);
    assert.equal("user_id" in privateEvent, false);
    const presenceEvent =
      (await arrived(all, "client_event", "presence-lobby"))[0]!;
    assert.equal(presenceEvent.data, "hi");
    assert.equal(presenceEvent.user_id, "bob");
    assert.deepEqual(await arrived(all, "cache_miss", "cache-prices"), [
      { name: "cache_miss", channel: "cache-prices" },
    ]);
    await clientOnly.until((events) => events.length >= 2);
    await arrived(all, "channel_occupied", "cache-prices");
    assert.deepEqual(
      [...new Set(clientOnly.events.map((e) => e.name))],
      ["client_event"],
    );
    assert.equal(all.invalid + clientOnly.invalid, 0);
  } finally {
    bob.disconnect();
  }
});

Deno.test("webhooks: a native room's members and occupancy (roomcast SDK client) reach the same URL", async () => {
  await using receiver = startReceiver();
  await using server = await startPusherServer({
    env: webhookEnv([receiver.url]),
  });
  const client = createClient(`${server.wsUrl}?user=carol`);
  try {
    const joined = Promise.withResolvers<void>();
    client.on("joined", () => joined.resolve());
    client.join("lobby", { meta: { name: "Carol" } });
    await joined.promise;
    await arrived(receiver, "channel_occupied", "lobby");
    assert.deepEqual(await arrived(receiver, "member_added", "lobby"), [
      { name: "member_added", channel: "lobby", user_id: "carol" },
    ]);
    client.leave("lobby");
    await arrived(receiver, "member_removed", "lobby");
    await arrived(receiver, "channel_vacated", "lobby");
  } finally {
    client.close();
  }
});

Deno.test("webhooks: a failing URL is retried with backoff, then gets every event once", async () => {
  await using receiver = startReceiver({ answer: "fail" });
  await using server = await startPusherServer({
    env: webhookEnv([receiver.url]),
  });
  const client = await connectPusher(server);
  try {
    for (const name of ["a", "b", "c", "d"]) await subscribed(client, name);
    await receiver.until(() => receiver.requests >= 3);
    receiver.answer = "ok";
    await receiver.until((events) =>
      named(events, "channel_occupied").length >= 4
    );
    assert.deepEqual(
      named(receiver.events, "channel_occupied").map((e) => e.channel).sort(),
      ["a", "b", "c", "d"],
    );
    assert.ok(server.metrics.get("webhook_retried_total") > 0);
    assert.ok(server.metrics.get("webhook_failed_total") > 0);
    assert.ok(server.metrics.get("webhook_requests_total", "status_503") > 0);
  } finally {
    client.disconnect();
  }
});

Deno.test("webhooks: events queued while a request is in flight go out together in one request", async () => {
  await using receiver = startReceiver({ answer: "hang" });
  await using server = await startPusherServer({
    env: { ...webhookEnv([receiver.url]), WEBHOOK_TIMEOUT_MS: "300" },
  });
  const client = await connectPusher(server);
  try {
    await subscribed(client, "first");
    await receiver.until(() => receiver.requests >= 1); // in flight, hanging
    for (const name of ["b", "c", "d"]) await subscribed(client, name);
    await until(() => server.metrics.get("webhook_queued_total") >= 4);
    receiver.answer = "ok";
    await receiver.until((events) =>
      named(events, "channel_occupied").length >= 4
    );
    assert.ok(receiver.batches.some((n) => n >= 3), String(receiver.batches));
    assert.equal(server.metrics.get("webhook_requests_total", "timeout"), 1);
  } finally {
    client.disconnect();
  }
});

Deno.test("webhooks: events still failing after WEBHOOK_RETRY_MS are dropped and counted", async () => {
  await using receiver = startReceiver({ answer: "fail" });
  await using server = await startPusherServer({
    env: { ...webhookEnv([receiver.url]), WEBHOOK_RETRY_MS: "300" },
  });
  const client: PusherClient = await connectPusher(server);
  try {
    await subscribed(client, "doomed");
    const deadline = Date.now() + 20_000;
    while (server.metrics.get("webhook_dropped_total", "expired") < 1) {
      if (Date.now() > deadline) throw new Error("Never dropped");
      await settle();
    }
    assert.ok(receiver.requests >= 2);
    await until(() => server.metrics.get("webhook_queue_depth") === 0);
  } finally {
    client.disconnect();
  }
});
