import assert from "node:assert/strict";
import { DEMO_APP } from "../support/pusher_apps.ts";
import { channelAuth } from "./signature.ts";
import { checkSubscribe } from "./subscribe.ts";

const app = DEMO_APP;
const sign = (channel: string, data?: string) =>
  channelAuth(app.key, app.secret, "1.2", channel, data);

Deno.test("checkSubscribe() grants public channels with or without auth", () => {
  assert.deepEqual(checkSubscribe(app, "1.2", { channel: "news" }), {
    ok: true,
    channel: "news",
    room: "news",
    kind: "public",
  });
  assert.equal(
    checkSubscribe(app, "1.2", { channel: "news", auth: "" }).ok,
    true,
  );
});

Deno.test("checkSubscribe() checks private signatures", () => {
  const ok = checkSubscribe(app, "1.2", {
    channel: "private-a",
    auth: sign("private-a"),
  });
  assert.equal(ok.ok, true);
  for (
    const auth of [undefined, "", sign("private-b"), `${app.key}:00`, "x:y"]
  ) {
    const verdict = checkSubscribe(app, "1.2", {
      channel: "private-a",
      ...(auth === undefined ? {} : { auth }),
    });
    assert.equal(verdict.ok, false, String(auth));
    assert.equal(!verdict.ok && verdict.status, 401);
  }
  // Another socket's signature is no good either.
  assert.equal(
    checkSubscribe(app, "1.3", {
      channel: "private-a",
      auth: sign("private-a"),
    })
      .ok,
    false,
  );
});

Deno.test("checkSubscribe() checks presence signatures and channel_data", () => {
  const data = JSON.stringify({
    user_id: 10,
    user_info: { name: "Mr. Pusher" },
  });
  assert.deepEqual(
    checkSubscribe(app, "1.2", {
      channel: "presence-a",
      auth: sign("presence-a", data),
      channel_data: data,
    }),
    {
      ok: true,
      channel: "presence-a",
      room: "presence-a",
      kind: "presence",
      userId: "10",
      userInfo: { name: "Mr. Pusher" },
    },
  );
  // Signed without the channel data: refused.
  assert.equal(
    checkSubscribe(app, "1.2", {
      channel: "presence-a",
      auth: sign("presence-a"),
      channel_data: data,
    }).ok,
    false,
  );
  for (
    const bad of [
      "nope",
      "[1]",
      JSON.stringify({ user_info: {} }),
      JSON.stringify({ user_id: "" }),
      JSON.stringify({ user_id: "x".repeat(129) }),
      JSON.stringify({ user_id: "u", user_info: "x".repeat(2000) }),
    ]
  ) {
    const verdict = checkSubscribe(app, "1.2", {
      channel: "presence-a",
      auth: sign("presence-a", bad),
      channel_data: bad,
    });
    assert.equal(verdict.ok, false, bad);
    assert.equal(!verdict.ok && verdict.status, 400, bad);
  }
});

Deno.test("checkSubscribe() refuses bad requests and channel names", () => {
  for (const data of [undefined, null, "a", { channel: 5 }]) {
    const verdict = checkSubscribe(app, "1.2", data);
    assert.equal(!verdict.ok && verdict.type, "InvalidRequest");
  }
  for (const channel of ["", "a b", "#other-1", "x".repeat(201)]) {
    const verdict = checkSubscribe(app, "1.2", { channel });
    assert.equal(!verdict.ok && verdict.type, "InvalidChannel", channel);
  }
});

Deno.test("checkSubscribe() grants #server-to-user-<id> to that signed-in user only", () => {
  const channel = "#server-to-user-alice";
  const granted = checkSubscribe(app, "1.2", { channel, auth: "" }, "alice");
  assert.deepEqual(granted, {
    ok: true,
    channel,
    room: "server-to-user:alice",
    kind: "user",
  });
  for (const user of [undefined, "bob"]) {
    const verdict = checkSubscribe(app, "1.2", { channel, auth: "" }, user);
    assert.equal(!verdict.ok && verdict.status, 401, String(user));
  }
  // The user rooms cannot be named as channels, and bad ids are refused.
  for (const name of ["server-to-user:alice", "#server-to-user-", "#x"]) {
    const verdict = checkSubscribe(app, "1.2", { channel: name }, "alice");
    assert.equal(!verdict.ok && verdict.type, "InvalidChannel", name);
  }
});
