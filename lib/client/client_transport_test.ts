import assert from "node:assert/strict";
import { FakeEventSource, fakeFetch } from "./_test_utils_sse.ts";
import { rig } from "./_test_utils.ts";
import { memoryStorage } from "./_transport.ts";
import { createClient } from "./mod.ts";
import type { ClientOptions } from "./types.ts";

/** Lets promise chains run (timers are mocked). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

const KEY = "roomcast.transport ws://roomcast.test";

function both(extra: ClientOptions = {}) {
  const { fetch, posts } = fakeFetch();
  const storage = memoryStorage();
  const before = FakeEventSource.sources.length;
  const t = rig({
    transports: ["websocket", "sse"],
    EventSource: FakeEventSource,
    fetch,
    storage,
    ...extra,
  });
  const streams = () => FakeEventSource.sources.slice(before);
  return { t, posts, storage, streams };
}

Deno.test("two WebSocket attempts failing before welcome move the client to SSE, remembered for the session", async () => {
  const { t, storage, streams, posts } = both();
  using _ = t;
  assert.equal(t.client.transport, "websocket");
  t.socket.serverClose(1006); // Refused upgrade.
  t.tick(750);
  assert.equal(t.sockets.length, 2);
  t.socket.readyState = 1;
  t.socket.serverClose(1006); // Opened, then dropped before welcome.
  assert.equal(t.client.transport, "sse");
  assert.deepEqual(t.events.filter(([name]) => name === "transport"), [[
    "transport",
    { previous: "websocket", transport: "sse", cause: "fallback" },
  ]]);
  assert.equal(
    storage.getItem(KEY),
    "sse",
  );
  t.client.join("lobby");
  t.tick(2_000);
  assert.equal(t.sockets.length, 2); // No third WebSocket.
  const [stream] = streams();
  assert.equal(stream?.url, "http://roomcast.test/sse?batch=1");
  stream?.welcome();
  assert.equal(t.client.state, "connected");
  await flush();
  assert.deepEqual(posts[0]?.frames, [{
    type: "join",
    room: "lobby",
    id: "j1",
  }]);
  posts[0]?.answer();
  await flush();
});

Deno.test('a stored SSE choice starts on SSE; transports: ["sse"] never touches WebSocket', () => {
  const storage = memoryStorage();
  storage.setItem(KEY, "sse");
  const before = FakeEventSource.sources.length;
  {
    using t = rig({
      transports: ["websocket", "sse"],
      EventSource: FakeEventSource,
      storage,
    });
    assert.equal(t.client.transport, "sse");
    assert.equal(t.sockets.length, 0);
  }
  {
    using t = rig({ transports: ["sse"], EventSource: FakeEventSource });
    assert.equal(t.client.transport, "sse");
    assert.equal(t.sockets.length, 0);
  }
  assert.equal(FakeEventSource.sources.length, before + 2);
});

Deno.test("a WebSocket that connected once is trusted: an outage does not move the client to SSE", () => {
  const { t, streams } = both();
  using _ = t;
  t.socket.welcome();
  for (let i = 0; i < 4; i++) {
    t.socket.serverClose(1006);
    t.tick(20_000);
  }
  assert.equal(t.client.transport, "websocket");
  assert.equal(streams().length, 0);
  assert.ok(t.sockets.length >= 5);
});

Deno.test("on SSE a WebSocket probe backs off while it fails, then moves the client back once nothing awaits an answer", async () => {
  const { t, posts, storage, streams } = both({ probeIntervalMs: 1_000 });
  using _ = t;
  t.socket.serverClose(1006);
  t.tick(750);
  t.socket.serverClose(1006);
  t.tick(2_000);
  const stream = streams()[0];
  assert.ok(stream !== undefined);
  t.client.join("lobby");
  stream.welcome();
  await flush();
  posts[0]?.answer();
  stream.emit("message", {
    type: "joined",
    room: "lobby",
    offset: 5,
    epoch: "e1",
    members: [],
  });
  assert.equal(t.sockets.length, 2);
  t.tick(1_000); // First probe.
  await flush();
  assert.equal(t.sockets.length, 3);
  t.socket.serverClose(1006); // Still blocked.
  t.tick(1_999);
  await flush();
  assert.equal(t.sockets.length, 3); // The next one waits 2×.
  t.tick(1);
  await flush();
  assert.equal(t.sockets.length, 4);
  const probe = t.socket;
  const pending = t.client.publish("lobby", "hi");
  await flush();
  posts[1]?.answer();
  probe.welcome(); // Through: but an ack is due.
  assert.equal(probe.closedWith, 1000);
  assert.equal(t.client.transport, "websocket");
  assert.equal(
    storage.getItem(KEY),
    null,
  );
  assert.equal(stream.closed, false);
  stream.emit("message", {
    type: "message",
    room: "lobby",
    data: "hi",
    offset: 6,
    epoch: "e1",
    ts: 1,
    from: "c1",
  });
  stream.emit("message", { type: "ack", id: 1, offset: 6 });
  assert.deepEqual(await pending, { offset: 6 });
  assert.equal(stream.closed, true); // Moved at once after the answer.
  assert.equal(t.sockets.length, 5);
  t.socket.welcome();
  assert.deepEqual(t.socket.sentOf("join"), [{
    type: "join",
    room: "lobby",
    id: "j2",
    since: { offset: 6, epoch: "e1" },
  }]);
  assert.deepEqual(
    t.events.filter(([name]) => name === "transport").map(([, e]) => e),
    [
      { previous: "websocket", transport: "sse", cause: "fallback" },
      { previous: "sse", transport: "websocket", cause: "probe" },
    ],
  );
});

Deno.test("createClient() checks the transport options", () => {
  const url = "ws://roomcast.test/ws";
  assert.throws(() => createClient(url, { transports: [] }), TypeError);
  assert.throws(
    () => createClient(url, { transports: ["sse", "sse"] }),
    TypeError,
  );
  assert.throws(() => createClient(url, { fallbackAfter: 0 }), RangeError);
  assert.throws(() => createClient(url, { probeIntervalMs: 0 }), RangeError);
});
