/**
 * The Pusher HTTP API, driven by the official `pusher` server SDK where it
 * can be, and by hand-signed requests for what the SDK refuses to send.
 */

import assert from "node:assert/strict";
import {
  apiStringToSign,
  hmacHex,
  md5Hex,
} from "../../lib/pusher/signature.ts";
import {
  APP,
  connectPusher,
  EventLog,
  RawPusher,
  serverSdk,
  startPusherServer,
  subscribed,
} from "../_support/pusher.ts";
import type { TestServer } from "../_support/harness.ts";

/** A request signed as the SDKs sign it; `at` is the auth_timestamp in seconds. */
function signedFetch(
  server: TestServer,
  method: string,
  path: string,
  body: string | undefined,
  options: { at?: number; secret?: string } = {},
): Promise<Response> {
  const params = new URLSearchParams({
    "auth_key": APP.key,
    "auth_timestamp": String(options.at ?? Math.floor(Date.now() / 1000)),
    "auth_version": "1.0",
  });
  if (body !== undefined) params.set("body_md5", md5Hex(body));
  params.set(
    "auth_signature",
    hmacHex(
      options.secret ?? APP.secret,
      apiStringToSign(method, path, params),
    ),
  );
  return fetch(`${server.url}${path}?${params}`, {
    method,
    ...(body === undefined
      ? {}
      : { body, headers: { "content-type": "application/json" } }),
  });
}

async function status(response: Promise<Response>): Promise<number> {
  const res = await response;
  await res.body?.cancel();
  return res.status;
}

Deno.test("the pusher SDK triggers to several channels and batches; socket_id excludes that socket", async () => {
  await using server = await startPusherServer();
  const a = await connectPusher(server, { id: "a" });
  const b = await connectPusher(server, { id: "b" });
  try {
    await subscribed(a, "one");
    await subscribed(b, "one");
    await subscribed(b, "two");
    const atA = new EventLog(a, "one", "e");
    const atB1 = new EventLog(b, "one", "e");
    const atB2 = new EventLog(b, "two", "e");
    const sdk = serverSdk(server);
    // Echo's toOthers(): the sender's socket does not get it.
    const res = await sdk.trigger(["one", "two"], "e", { n: 1 }, {
      socket_id: a.connection.socket_id,
    });
    assert.equal(res.status, 200);
    const batch = await sdk.triggerBatch([
      { channel: "one", name: "e", data: { n: 2 } },
      { channel: "two", name: "e", data: "plain text" },
    ]);
    assert.equal(batch.status, 200);
    assert.deepEqual(await atB1.waitFor(2), [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(await atB2.waitFor(2), [{ n: 1 }, "plain text"]);
    assert.deepEqual(await atA.waitFor(1), [{ n: 2 }]);
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

Deno.test("the pusher SDK lists a presence channel's users", async () => {
  await using server = await startPusherServer();
  const a = await connectPusher(server, { id: "ann" });
  const b = await connectPusher(server, { id: "ben" });
  try {
    await subscribed(a, "presence-room");
    await subscribed(b, "presence-room");
    const res = await serverSdk(server).get({
      path: "/channels/presence-room/users",
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body.users.map((u: { id: string }) => u.id).sort(), [
      "ann",
      "ben",
    ]);
    await assert.rejects(
      serverSdk(server).get({ path: "/channels/public-room/users" }),
      (error: { status?: number }) => error.status === 400,
    );
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

Deno.test("Pusher HTTP API: forged, stale and tampered requests get 401; nothing is published", async () => {
  await using server = await startPusherServer();
  await using raw = await RawPusher.open(server);
  await raw.subscribe({ channel: "watch" });
  const body = JSON.stringify({ name: "x", channel: "watch", data: "{}" });
  // The SDK with the wrong secret.
  await assert.rejects(
    serverSdk(server, "wrong-secret").trigger("watch", "x", {}),
    (error: { status?: number }) => error.status === 401,
  );
  const now = Math.floor(Date.now() / 1000);
  assert.equal(
    await status(
      signedFetch(server, "POST", "/apps/42/events", body, { at: now - 610 }),
    ),
    401,
  );
  assert.equal(
    await status(
      signedFetch(server, "POST", "/apps/42/events", body, { at: now + 610 }),
    ),
    401,
  );
  assert.equal(
    await status(
      signedFetch(server, "POST", "/apps/42/events", body, { secret: "nope" }),
    ),
    401,
  );
  // Signed for one body, sent with another.
  const params = new URL(signedRequestUrl(server, body)).search;
  const tampered = JSON.stringify({
    name: "x",
    channel: "watch",
    data: "evil",
  });
  assert.equal(
    await status(
      fetch(`${server.url}/apps/42/events${params}`, {
        method: "POST",
        body: tampered,
      }),
    ),
    401,
  );
  assert.equal(
    await status(
      fetch(`${server.url}/apps/42/events`, { method: "POST", body }),
    ),
    401,
  );
  assert.equal(
    await status(signedFetch(server, "POST", "/apps/999/events", body)),
    404,
  );
  // The watcher got nothing but what comes now.
  assert.equal(
    await status(signedFetch(server, "POST", "/apps/42/events", body)),
    200,
  );
  assert.deepEqual((await raw.next("x")).data, {});
  assert.equal(raw.all.filter((f) => f.event === "x").length, 1);
});

/** The URL a correctly signed POST of `body` would use. */
function signedRequestUrl(
  server: TestServer,
  body: string,
): string {
  const params = new URLSearchParams({
    "auth_key": APP.key,
    "auth_timestamp": String(Math.floor(Date.now() / 1000)),
    "auth_version": "1.0",
    "body_md5": md5Hex(body),
  });
  params.set(
    "auth_signature",
    hmacHex(APP.secret, apiStringToSign("POST", "/apps/42/events", params)),
  );
  return `${server.url}/apps/42/events?${params}`;
}

Deno.test("Pusher HTTP API: bad bodies get 400 and oversize data 413", async () => {
  await using server = await startPusherServer();
  const post = (value: unknown, path = "/apps/42/events") =>
    status(signedFetch(server, "POST", path, JSON.stringify(value)));
  const channels = Array.from({ length: 101 }, (_, i) => `c${i}`);
  assert.equal(await post({ name: "x", channels, data: "{}" }), 400);
  assert.equal(
    await post({ name: "x", channels: channels.slice(0, 100), data: "{}" }),
    200,
  );
  assert.equal(
    await post({ name: "x", channel: "a", data: "x".repeat(10_241) }),
    413,
  );
  assert.equal(await post({ name: "pusher:x", channel: "a", data: "{}" }), 400);
  assert.equal(
    await post({ name: "x", channel: "bad channel", data: "{}" }),
    400,
  );
  assert.equal(
    await post({ name: "x", channel: "a", data: "{}", socket_id: "abc" }),
    400,
  );
  assert.equal(await post({ name: "x", channel: "a" }), 400);
  const batch = Array.from(
    { length: 11 },
    () => ({ name: "x", channel: "a", data: "{}" }),
  );
  assert.equal(await post({ batch }, "/apps/42/batch_events"), 400);
  assert.equal(
    await post({ batch: batch.slice(0, 10) }, "/apps/42/batch_events"),
    200,
  );
  assert.equal(
    await status(signedFetch(server, "POST", "/apps/42/events", "{not json")),
    400,
  );
  assert.equal(
    await status(
      signedFetch(server, "POST", "/apps/42/events", "x".repeat(70_000)),
    ),
    413,
  );
});
