/**
 * The Pusher features past the basics, with unmodified pusher-js and the
 * `pusher` server SDK: cache channels, user sign-in with `sendToUser` and
 * `terminateUserConnections`, `subscription_count`, the channel queries of
 * the HTTP API, and `private-encrypted-` channels end to end.
 */

import assert from "node:assert/strict";
import {
  connectPusher,
  EventLog,
  type PusherClient,
  pusherEnv,
  RawPusher,
  serverSdk,
  signIn,
  startPusherServer,
  subscribed,
} from "../_support/pusher.ts";
import { signinAuth } from "../../lib/pusher/signature.ts";
import { APP } from "../_support/pusher.ts";

/** Resolves with the code the client's socket closed with. */
function closedWith(client: PusherClient): Promise<number> {
  return new Promise((resolve) => {
    client.connection.bind("error", (error: unknown) => {
      const data = (error as { data?: { code?: unknown } }).data;
      if (typeof data?.code === "number") resolve(data.code);
    });
  });
}

Deno.test("pusher-js on a cache channel gets the last event on subscribe, or pusher:cache_miss", async () => {
  await using server = await startPusherServer();
  const sdk = serverSdk(server);
  await sdk.trigger("cache-prices", "tick", { n: 1 });
  await sdk.trigger("cache-prices", "tick", { n: 2 });
  const client = await connectPusher(server);
  try {
    const channel = client.subscribe("cache-prices");
    const ticks = new EventLog(client, "cache-prices", "tick");
    const misses = new EventLog(client, "cache-prices", "pusher:cache_miss");
    await new Promise((resolve) =>
      channel.bind("pusher:subscription_succeeded", resolve)
    );
    assert.deepEqual(await ticks.waitFor(1), [{ n: 2 }]);
    // A live event after it arrives as usual.
    await sdk.trigger("cache-prices", "tick", { n: 3 });
    assert.deepEqual(await ticks.waitFor(2), [{ n: 2 }, { n: 3 }]);
    assert.equal(misses.events.length, 0);
    // An empty cache channel: a miss, private and presence ones too.
    for (const name of ["cache-empty", "private-cache-x", "presence-cache-y"]) {
      client.subscribe(name);
      const miss = new EventLog(client, name, "pusher:cache_miss");
      await miss.waitFor(1);
    }
  } finally {
    client.disconnect();
  }
});

Deno.test("pusher-js signs in; sendToUser reaches every connection of that user only; terminateUserConnections closes them with 4009", async () => {
  await using server = await startPusherServer();
  const sdk = serverSdk(server);
  const tab1 = await connectPusher(server, { id: "alice" });
  const tab2 = await connectPusher(server, { id: "alice" });
  const bob = await connectPusher(server, { id: "bob" });
  try {
    const received = (client: PusherClient) => {
      const got: unknown[] = [];
      client.user.bind("notice", (data: unknown) => got.push(data));
      return got;
    };
    const atTab1 = received(tab1);
    const atTab2 = received(tab2);
    const atBob = received(bob);
    for (const client of [tab1, tab2, bob]) await signIn(client);
    await sdk.sendToUser("alice", "notice", { text: "hi" });
    await sdk.sendToUser("bob", "notice", { text: "yo" });
    await until(() => atTab1.length + atTab2.length + atBob.length >= 3);
    assert.deepEqual(atTab1, [{ text: "hi" }]);
    assert.deepEqual(atTab2, [{ text: "hi" }]);
    assert.deepEqual(atBob, [{ text: "yo" }]);
    // Alice is in no presence channel: the sign-in alone makes her terminable.
    const codes = [closedWith(tab1), closedWith(tab2)];
    const res = await sdk.terminateUserConnections("alice");
    assert.equal(res.status, 200);
    assert.deepEqual(await withTimeout(Promise.all(codes)), [4009, 4009]);
    // The bystander is untouched.
    await subscribed(bob, "news");
    const news = new EventLog(bob, "news", "flash");
    await sdk.trigger("news", "flash", 1);
    assert.deepEqual(await news.waitFor(1), [1]);
    assert.equal(bob.connection.state, "connected");
  } finally {
    for (const client of [tab1, tab2, bob]) client.disconnect();
  }
});

Deno.test("Sign-in refusals: a forged signature gets 4009 and a close; another user's channel is refused; a bystander keeps working", async () => {
  await using server = await startPusherServer();
  await using bystander = await RawPusher.open(server);
  await bystander.subscribe({ channel: "news" });
  await using raw = await RawPusher.open(server);
  const userData = JSON.stringify({ id: "alice" });
  const good = signinAuth(APP.key, APP.secret, raw.socketId, userData);
  // Not signed in: the user channel is refused.
  const early = await raw.subscribe({
    channel: "#server-to-user-alice",
    auth: "",
  });
  assert.equal(early.event, "pusher:subscription_error");
  raw.send({
    event: "pusher:signin",
    data: { auth: good, "user_data": userData },
  });
  await raw.next("pusher:signin_success");
  const own = await raw.subscribe({
    channel: "#server-to-user-alice",
    auth: "",
  });
  assert.equal(own.event, "pusher_internal:subscription_succeeded");
  const other = await raw.subscribe({
    channel: "#server-to-user-bob",
    auth: "",
  });
  assert.equal(other.event, "pusher:subscription_error");
  assert.deepEqual((other.data as { status: number }).status, 401);
  await using forger = await RawPusher.open(server);
  forger.send({
    event: "pusher:signin",
    data: { auth: good, "user_data": userData }, // signed for another socket
  });
  const error = await forger.next("pusher:error");
  assert.equal((error.data as { code: number }).code, 4009);
  assert.equal((await forger.closed).code, 4009);
  await serverSdk(server).trigger("news", "flash", "still here");
  assert.equal((await bystander.next("flash")).data, "still here");
});

Deno.test("pusher_internal:subscription_count follows the count when the app enables it, not on presence channels", async () => {
  await using server = await startPusherServer({
    env: {
      ...pusherEnv({ enable_subscription_count: true }),
      PUSHER_SUBSCRIPTION_COUNT_MS: "0",
    },
  });
  const a = await connectPusher(server, { id: "a" });
  const b = await connectPusher(server, { id: "b" });
  try {
    await subscribed(a, "stats");
    const counts = new EventLog<{ subscription_count: number }>(
      a,
      "stats",
      "pusher:subscription_count",
    );
    await until(() => counts.events.at(-1)?.subscription_count === 1);
    await subscribed(b, "stats");
    await until(() => counts.events.at(-1)?.subscription_count === 2);
    assert.equal(a.channel("stats").subscriptionCount, 2);
    b.unsubscribe("stats");
    await until(() => counts.events.at(-1)?.subscription_count === 1);
    // Presence channels: no subscription_count frames.
    await using raw = await RawPusher.open(server);
    await raw.subscribe({ channel: "stats" });
    await raw.next("pusher_internal:subscription_count");
    const sdk = serverSdk(server);
    const data = JSON.stringify({ "user_id": "r" });
    await raw.subscribe({
      channel: "presence-p",
      auth: sdk.authorizeChannel(raw.socketId, "presence-p", { "user_id": "r" })
        .auth,
      "channel_data": data,
    });
    await sdk.trigger("presence-p", "after", {});
    await raw.next("after");
    assert.ok(
      !raw.all.some((f) =>
        f.channel === "presence-p" &&
        f.event === "pusher_internal:subscription_count"
      ),
    );
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

Deno.test("No subscription_count frames when the app does not enable them", async () => {
  await using server = await startPusherServer();
  await using raw = await RawPusher.open(server);
  await raw.subscribe({ channel: "stats" });
  await serverSdk(server).trigger("stats", "after", {});
  await raw.next("after");
  assert.ok(
    !raw.all.some((f) => f.event === "pusher_internal:subscription_count"),
  );
});

Deno.test("The pusher SDK reads GET /channels, GET /channels/:name and info on trigger", async () => {
  await using server = await startPusherServer();
  const sdk = serverSdk(server);
  const alice = await connectPusher(server, { id: "alice" });
  const bob1 = await connectPusher(server, { id: "bob" });
  const bob2 = await connectPusher(server, { id: "bob" });
  try {
    for (const client of [alice, bob1, bob2]) {
      await subscribed(client, "presence-room");
    }
    await subscribed(alice, "news");
    await subscribed(bob1, "news");
    const json = async (res: { json(): Promise<unknown> }) => await res.json();
    assert.deepEqual(
      await json(
        await sdk.get({
          path: "/channels",
          params: {
            "filter_by_prefix": "presence-",
            info: "user_count,subscription_count",
          },
        }),
      ),
      {
        channels: {
          "presence-room": { "user_count": 2, "subscription_count": 3 },
        },
      },
    );
    assert.deepEqual(
      await json(await sdk.get({ path: "/channels", params: {} })),
      { channels: { "news": {}, "presence-room": {} } },
    );
    assert.deepEqual(
      await json(
        await sdk.get({
          path: "/channels/news",
          params: { info: "subscription_count" },
        }),
      ),
      { occupied: true, "subscription_count": 2 },
    );
    assert.deepEqual(
      await json(await sdk.get({ path: "/channels/nobody", params: {} })),
      { occupied: false },
    );
    assert.deepEqual(
      await json(
        await sdk.get({
          path: "/channels/presence-room",
          params: { info: "user_count" },
        }),
      ),
      { occupied: true, "user_count": 2 },
    );
    // user_count is for presence channels only: a real 400 (not Soketi's 200).
    for (
      const [path, params] of [
        ["/channels/news", { info: "user_count" }],
        ["/channels", { info: "user_count" }],
        ["/channels", { info: "bogus" }],
      ] as const
    ) {
      await assert.rejects(
        sdk.get({ path, params }),
        (error: { status?: number }) => error.status === 400,
        path,
      );
    }
    const triggered = await sdk.trigger(
      ["news", "presence-room"],
      "ping",
      {},
      { info: "subscription_count,user_count" },
    );
    assert.deepEqual(await triggered.json(), {
      channels: {
        "news": { "subscription_count": 2 },
        "presence-room": { "user_count": 2, "subscription_count": 3 },
      },
    });
  } finally {
    for (const client of [alice, bob1, bob2]) client.disconnect();
  }
});

Deno.test("pusher-js decrypts private-encrypted- events the server SDK encrypted; the server relays ciphertext", async () => {
  await using server = await startPusherServer();
  const sdk = serverSdk(server);
  const client = await connectPusher(server);
  await using raw = await RawPusher.open(server);
  try {
    await subscribed(client, "private-encrypted-vault");
    const raws = await raw.subscribe({
      channel: "private-encrypted-vault",
      auth: sdk.authorizeChannel(raw.socketId, "private-encrypted-vault").auth,
    });
    assert.equal(raws.event, "pusher_internal:subscription_succeeded");
    const secrets = new EventLog(client, "private-encrypted-vault", "secret");
    await sdk.trigger("private-encrypted-vault", "secret", { code: 1234 });
    assert.deepEqual(await secrets.waitFor(1), [{ code: 1234 }]);
    // What went over the wire is the SDK's ciphertext, not the plain data.
    const wire = await raw.next("secret");
    const data = wire.data as { ciphertext?: unknown; nonce?: unknown };
    assert.equal(typeof data.ciphertext, "string");
    assert.equal(typeof data.nonce, "string");
    assert.ok(!JSON.stringify(wire).includes("1234"));
  } finally {
    client.disconnect();
  }
});

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Timed out")), 10_000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
