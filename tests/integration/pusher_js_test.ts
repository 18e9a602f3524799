/**
 * The unmodified pusher-js client against a real server: public, private
 * and presence channels, client events, and the `pusher` server SDK
 * triggering events that pusher-js receives.
 */

import assert from "node:assert/strict";
import {
  connectPusher,
  EventLog,
  serverSdk,
  startPusherServer,
  subscribed,
} from "../_support/pusher.ts";

Deno.test("pusher-js receives server SDK events on a public channel, in order", async () => {
  await using server = await startPusherServer();
  const client = await connectPusher(server);
  try {
    await subscribed(client, "news");
    const log = new EventLog(client, "news", "headline");
    const sdk = serverSdk(server);
    for (let i = 0; i < 5; i++) {
      const res = await sdk.trigger("news", "headline", { n: i });
      assert.equal(res.status, 200);
    }
    assert.deepEqual(await log.waitFor(5), [0, 1, 2, 3, 4].map((n) => ({ n })));
  } finally {
    client.disconnect();
  }
});

Deno.test("pusher-js subscribes to private channels with a signed auth; client events reach others, never the sender", async () => {
  await using server = await startPusherServer();
  const alice = await connectPusher(server, { id: "alice" });
  const bob = await connectPusher(server, { id: "bob" });
  try {
    await subscribed(alice, "private-room");
    await subscribed(bob, "private-room");
    const atBob = new EventLog(bob, "private-room", "client-typing");
    const atAlice = new EventLog(alice, "private-room", "client-typing");
    const aliceDone = new EventLog(alice, "private-room", "done");
    assert.ok(
      alice.channel("private-room").trigger("client-typing", { on: true }),
    );
    assert.deepEqual(await atBob.waitFor(1), [{ on: true }]);
    // A server event after it: when Alice has it, she would have had her own echo.
    await serverSdk(server).trigger("private-room", "done", {});
    await aliceDone.waitFor(1);
    assert.deepEqual(atAlice.events, []);
  } finally {
    alice.disconnect();
    bob.disconnect();
  }
});

Deno.test("pusher-js presence: member list, member_added/removed once per user across tabs, never to the joiner", async () => {
  await using server = await startPusherServer();
  const alice = await connectPusher(server, {
    id: "alice",
    info: { name: "Alice" },
  });
  const bobTab1 = await connectPusher(server, {
    id: "bob",
    info: { name: "Bob" },
  });
  const bobTab2 = await connectPusher(server, {
    id: "bob",
    info: { name: "Bob" },
  });
  try {
    const first = await subscribed(alice, "presence-team");
    assert.equal(count(first), 1);
    const added = new EventLog<{ id: string; info: unknown }>(
      alice,
      "presence-team",
      "pusher:member_added",
    );
    const removed = new EventLog<{ id: string }>(
      alice,
      "presence-team",
      "pusher:member_removed",
    );
    const members = await subscribed(bobTab1, "presence-team");
    assert.equal(count(members), 2);
    assert.deepEqual((await added.waitFor(1)).map((m) => [m.id, m.info]), [[
      "bob",
      { name: "Bob" },
    ]]);
    // The second tab of the same user: no second member_added.
    const tab2 = await subscribed(bobTab2, "presence-team");
    assert.equal(count(tab2), 2);
    bobTab1.unsubscribe("presence-team");
    // Closing one tab removes nobody; the last one removes Bob, once.
    bobTab2.unsubscribe("presence-team");
    assert.deepEqual((await removed.waitFor(1)).map((m) => m.id), ["bob"]);
    // A marker: Carol joins after; Alice hears of Carol, so anything about Bob came before.
    const carol = await connectPusher(server, { id: "carol" });
    try {
      await subscribed(carol, "presence-team");
      assert.deepEqual((await added.waitFor(2)).map((m) => m.id), [
        "bob",
        "carol",
      ]);
      // Alice joined first and never heard of herself (never to the joiner).
      assert.equal(removed.events.length, 1);
    } finally {
      carol.disconnect();
    }
  } finally {
    alice.disconnect();
    bobTab1.disconnect();
    bobTab2.disconnect();
  }
});

Deno.test("pusher-js presence client events carry the sender's user_id", async () => {
  await using server = await startPusherServer();
  const alice = await connectPusher(server, { id: "alice" });
  const bob = await connectPusher(server, { id: "bob" });
  try {
    await subscribed(alice, "presence-chat");
    await subscribed(bob, "presence-chat");
    const seen: Array<[unknown, unknown]> = [];
    let wake = () => {};
    const got = new Promise<void>((resolve) => (wake = resolve));
    bob.channel("presence-chat").bind(
      "client-hi",
      (data: unknown, meta: { user_id?: string }) => {
        seen.push([data, meta?.user_id]);
        wake();
      },
    );
    alice.channel("presence-chat").trigger("client-hi", "hello");
    await got;
    assert.deepEqual(seen, [["hello", "alice"]]);
  } finally {
    alice.disconnect();
    bob.disconnect();
  }
});

function count(data: unknown): number {
  if (
    typeof data === "object" && data !== null && "count" in data &&
    typeof data.count === "number"
  ) {
    return data.count;
  }
  throw new Error(`Not a members object: ${JSON.stringify(data)}`);
}
