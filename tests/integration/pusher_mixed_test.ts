/**
 * A Pusher channel is the roomcast room of the same name: pusher-js clients
 * and raw roomcast.v1 clients in one room see the same messages in the same
 * order, on one isolate and across two isolates sharing a bus and a log.
 */

import assert from "node:assert/strict";
import { broadcastChannelTransport } from "../../lib/bus/broadcast_channel.ts";
import { MemoryLog } from "../../lib/room_log/memory.ts";
import type { Json } from "../../lib/protocol/mod.ts";
import { fromRoomcast } from "../../lib/pusher/wire.ts";
import { TestClient, type TestServer } from "../_support/harness.ts";
import {
  connectPusher,
  type PusherClient,
  pusherEnv,
  serverSdk,
  startPusherServer,
  subscribed,
} from "../_support/pusher.ts";

// Client events at full speed: the 10/s limit has its own test.
const env = pusherEnv({ max_client_events_per_second: 10_000 });

const ROOM = "private-mixed";
const ROUNDS = 20;

/** Every non-internal event of `channel`, in arrival order, as [event, data]. */
function record(
  client: PusherClient,
  channel: string,
): Array<[string, unknown]> {
  const seen: Array<[string, unknown]> = [];
  client.channel(channel).bind_global((event: string, data: unknown) => {
    if (!event.startsWith("pusher:") && !event.startsWith("pusher_internal:")) {
      seen.push([event, data]);
    }
  });
  return seen;
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Publishes from all three kinds of sender at once, and compares what both kinds of client saw. */
async function mixedRoom(pusherServer: TestServer, roomcastServer: TestServer) {
  const sender = await connectPusher(pusherServer, { id: "sender" });
  const reader = await connectPusher(pusherServer, { id: "reader" });
  await using native = await TestClient.open(roomcastServer.wsUrl);
  try {
    await subscribed(sender, ROOM);
    await subscribed(reader, ROOM);
    await native.join(ROOM);
    const atReader = record(reader, ROOM);
    const sdk = serverSdk(pusherServer);
    const triggers: Array<Promise<unknown>> = [];
    for (let i = 0; i < ROUNDS; i++) {
      native.send({
        type: "publish",
        room: ROOM,
        data: { event: "native", data: { i } },
      });
      native.send({ type: "publish", room: ROOM, data: i });
      sender.channel(ROOM).trigger("client-move", { i });
      triggers.push(sdk.trigger(ROOM, "api", { i }));
    }
    await Promise.all(triggers);
    const total = 4 * ROUNDS;
    const atNative: Array<[string, unknown]> = [];
    for (let i = 0; i < total; i++) {
      const message = await native.next("message", { skip: true });
      const event = fromRoomcast(message.data as Json);
      atNative.push([event.event, event.data]);
    }
    await until(() => atReader.length >= total);
    assert.deepEqual(atReader, atNative);
    // Every sender's messages are there, each in its own order.
    for (const name of ["native", "roomcast:message", "client-move", "api"]) {
      assert.equal(atNative.filter(([e]) => e === name).length, ROUNDS, name);
    }
  } finally {
    sender.disconnect();
    reader.disconnect();
  }
}

Deno.test("pusher-js and roomcast clients in one room see the same messages in the same order (one isolate)", async () => {
  await using server = await startPusherServer({ env });
  await mixedRoom(server, server);
});

Deno.test("pusher-js and roomcast clients in one room see the same order across isolates", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  const history = new MemoryLog({ maxMessages: 5_000, ttlMs: 60_000 });
  await using a = await startPusherServer({
    env,
    transport: broadcastChannelTransport(channel),
    history,
  });
  await using b = await startPusherServer({
    env,
    transport: broadcastChannelTransport(channel),
    history,
  });
  await mixedRoom(a, b);
});
