/**
 * Bad input on the Pusher endpoint gets Pusher's error, and a bystander in
 * the same channel is not disturbed: it still receives the next event.
 */

import assert from "node:assert/strict";
import { channelAuth } from "../../lib/pusher/signature.ts";
import {
  APP,
  pusherEnv,
  RawPusher,
  serverSdk,
  startPusherServer,
} from "../_support/pusher.ts";
import type { TestServer } from "../_support/harness.ts";

const sign = (socketId: string, channel: string, data?: string) =>
  channelAuth(APP.key, APP.secret, socketId, channel, data);

/** A subscribed bystander; `check()` proves it still gets events. */
async function bystander(server: TestServer, channel: string) {
  const raw = await RawPusher.open(server);
  const answer = await raw.subscribe({
    channel,
    auth: sign(raw.socketId, channel),
  });
  assert.equal(answer.event, "pusher_internal:subscription_succeeded");
  let n = 0;
  return {
    raw,
    async check() {
      n += 1;
      const res = await serverSdk(server).trigger(channel, "still-here", { n });
      assert.equal(res.status, 200);
      assert.deepEqual((await raw.next("still-here")).data, { n });
    },
  };
}

Deno.test("Pusher handshake: unknown key → 4001, no protocol → 4008, protocol 6 → 4007, each after a pusher:error", async () => {
  await using server = await startPusherServer();
  for (
    const [options, code] of [
      [{ key: "nope" }, 4001],
      [{ query: "client=js" }, 4008],
      [{ query: "protocol=6" }, 4007],
    ] as const
  ) {
    const raw = await RawPusher.open(server, {
      ...options,
      established: false,
    });
    const error = await raw.next("pusher:error");
    assert.equal((error.data as { code: number }).code, code);
    assert.equal((await raw.closed).code, code);
  }
});

Deno.test("connection_established carries a Pusher socket_id and activity_timeout; pusher:ping gets pusher:pong", async () => {
  await using server = await startPusherServer({
    env: { PUSHER_ACTIVITY_TIMEOUT_S: "45" },
  });
  await using raw = await RawPusher.open(server, { established: false });
  const hello = await raw.next("pusher:connection_established");
  const data = hello.data as { socket_id: string; activity_timeout: number };
  assert.match(data.socket_id, /^\d+\.\d+$/);
  assert.equal(data.activity_timeout, 45);
  raw.send({ event: "pusher:ping", data: {} });
  await raw.next("pusher:pong");
});

Deno.test("forged private and presence signatures get pusher:subscription_error 401; the bystander is undisturbed", async () => {
  await using server = await startPusherServer();
  const other = await bystander(server, "private-a");
  await using raw = await RawPusher.open(server);
  const data = JSON.stringify({ user_id: "mallory" });
  const attempts: Array<Record<string, string>> = [
    { channel: "private-a", auth: `${APP.key}:${"0".repeat(64)}` },
    // Another socket's valid signature.
    { channel: "private-a", auth: sign(other.raw.socketId, "private-a") },
    { channel: "private-a" },
    {
      channel: "presence-a",
      auth: sign(raw.socketId, "presence-a"),
      channel_data: data,
    },
    {
      channel: "presence-a",
      auth: sign(raw.socketId, "presence-a", data),
      channel_data: JSON.stringify({ user_id: "admin" }),
    },
  ];
  for (const attempt of attempts) {
    const answer = await raw.subscribe(attempt);
    assert.equal(
      answer.event,
      "pusher:subscription_error",
      JSON.stringify(attempt),
    );
    assert.equal((answer.data as { status: number }).status, 401);
  }
  // Not subscribed: the attacker hears nothing of the channel.
  await other.check();
  raw.send({ event: "pusher:ping" });
  await raw.next("pusher:pong");
  assert.deepEqual(raw.frames.filter((f) => f.channel === "private-a"), []);
});

Deno.test("client events: refused on public channels, before subscribing, when disabled, oversize; relayed otherwise", async () => {
  await using server = await startPusherServer();
  const other = await bystander(server, "private-b");
  await using raw = await RawPusher.open(server);
  assert.equal(
    (await raw.subscribe({ channel: "news" })).event,
    "pusher_internal:subscription_succeeded",
  );
  const refused = async (frame: Record<string, unknown>, pattern: RegExp) => {
    raw.send(frame);
    const error = await raw.next("pusher:error");
    assert.match((error.data as { message: string }).message, pattern);
  };
  await refused(
    { event: "client-x", channel: "news", data: {} },
    /only supported on private and presence/,
  );
  await refused(
    { event: "client-x", channel: "private-b", data: {} },
    /not subscribed/,
  );
  await refused({ event: "client-x", data: {} }, /without a channel/);
  const answer = await raw.subscribe({
    channel: "private-b",
    auth: sign(raw.socketId, "private-b"),
  });
  assert.equal(answer.event, "pusher_internal:subscription_succeeded");
  await refused({
    event: "client-x",
    channel: "private-b",
    data: "x".repeat(11_000),
  }, /over 10240/);
  raw.send({ event: "client-ok", channel: "private-b", data: { fine: true } });
  assert.deepEqual((await other.raw.next("client-ok")).data, { fine: true });
  await other.check();
  assert.equal(other.raw.all.some((f) => f.event === "client-x"), false);
});

Deno.test("client events on an app without enable_client_messages get Pusher's error", async () => {
  await using server = await startPusherServer({
    env: pusherEnv({ enable_client_messages: false }),
  });
  await using raw = await RawPusher.open(server);
  await raw.subscribe({
    channel: "private-c",
    auth: sign(raw.socketId, "private-c"),
  });
  raw.send({ event: "client-x", channel: "private-c", data: {} });
  const error = await raw.next("pusher:error");
  assert.match(
    (error.data as { message: string }).message,
    /enable this feature/,
  );
});

Deno.test("client events past max_client_events_per_second get pusher:error 4301 and are dropped", async () => {
  await using server = await startPusherServer({
    env: pusherEnv({ max_client_events_per_second: 2 }),
  });
  const other = await bystander(server, "private-d");
  await using raw = await RawPusher.open(server);
  await raw.subscribe({
    channel: "private-d",
    auth: sign(raw.socketId, "private-d"),
  });
  for (let i = 0; i < 5; i++) {
    raw.send({ event: "client-n", channel: "private-d", data: i });
  }
  const error = await raw.next("pusher:error");
  assert.equal((error.data as { code: number }).code, 4301);
  await other.check();
  const relayed = other.raw.all.filter((f) => f.event === "client-n").map((
    f,
  ) => f.data);
  assert.ok(relayed.length >= 2 && relayed.length < 5, JSON.stringify(relayed));
});

Deno.test("malformed frames get pusher:error and the connection stays; an oversize frame closes with 4301", async () => {
  await using server = await startPusherServer({
    env: { MAX_MESSAGE_BYTES: "4096" },
  });
  const other = await bystander(server, "private-e");
  await using raw = await RawPusher.open(server);
  for (
    const [frame, answer] of [
      ["{not json", "pusher:error"],
      ["[1,2]", "pusher:error"],
      ['{"event":5}', "pusher:error"],
      ['{"event":"pusher:subscribe"}', "pusher:error"],
      [
        '{"event":"pusher:subscribe","data":{"channel":"bad channel!"}}',
        "pusher:subscription_error",
      ],
      ['{"event":"pusher:nonsense"}', "pusher:error"],
      ['{"event":"pusher:unsubscribe","data":7}', "pusher:error"],
    ]
  ) {
    raw.send(frame);
    await raw.next(answer!);
  }
  raw.socket.send(new Uint8Array([1, 2, 3]));
  assert.match(
    ((await raw.next("pusher:error")).data as { message: string }).message,
    /Binary/,
  );
  raw.send({ event: "pusher:ping", data: "x".repeat(5000) });
  assert.equal((await raw.closed).code, 4301);
  await other.check();
});

Deno.test("a presence channel past max_presence_members_per_channel refuses the next user with LimitReached", async () => {
  await using server = await startPusherServer({
    env: pusherEnv({ max_presence_members_per_channel: 1 }),
  });
  const join = async (raw: RawPusher, user: string) => {
    const data = JSON.stringify({ user_id: user });
    return await raw.subscribe({
      channel: "presence-full",
      auth: sign(raw.socketId, "presence-full", data),
      channel_data: data,
    });
  };
  await using first = await RawPusher.open(server);
  await using second = await RawPusher.open(server);
  assert.equal(
    (await join(first, "a")).event,
    "pusher_internal:subscription_succeeded",
  );
  const refused = await join(second, "b");
  assert.equal(refused.event, "pusher:subscription_error");
  assert.equal((refused.data as { type: string }).type, "LimitReached");
  // The refused user is gone again: the channel lists only "a".
  const res = await serverSdk(server).get({
    path: "/channels/presence-full/users",
  });
  assert.deepEqual((await res.json()).users, [{ id: "a" }]);
});
