/**
 * The SDK (lib/client/) in Deno against a real server on port 0: publish
 * and ack, echo, ping, reconnect and rejoin after a server restart, the
 * local `too_big` refusal, presence, and a lossless resume through
 * connection cuts. Waits on SDK events, never on the clock.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ClientEvents,
  type ClientOptions,
  createClient,
  type RoomcastClient,
} from "../../lib/client/mod.ts";
import { report, startTestServer } from "../_harness.ts";
import { startProxy } from "./_proxy.ts";

/** Creates clients whose sockets can be awaited until fully closed. */
function tracker() {
  const closed: Promise<unknown>[] = [];
  class TrackedWebSocket extends WebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      closed.push(
        new Promise((resolve) => this.addEventListener("close", resolve)),
      );
    }
  }
  return {
    open(url: string, options: ClientOptions = {}): RoomcastClient {
      return createClient(url, { WebSocket: TrackedWebSocket, ...options });
    },
    /** Resolves once every socket ever opened has closed. */
    async settled(): Promise<void> {
      await Promise.all(closed);
    },
  };
}

/** The next `event` of `client` that satisfies `accept`. */
function next<K extends keyof ClientEvents>(
  client: RoomcastClient,
  event: K,
  accept: (payload: ClientEvents[K]) => boolean = () => true,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`Timed out waiting for "${event}"`));
    }, 5_000);
    const off = client.on(event, (payload) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

Deno.test("SDK publishes with acks, echoes and pings against a real server", async () => {
  await using server = await startTestServer();
  const sockets = tracker();
  const alice = sockets.open(server.wsUrl);
  const bob = sockets.open(server.wsUrl);
  try {
    const joined = [next(alice, "joined"), next(bob, "joined")];
    alice.join("lobby");
    bob.join("lobby");
    await Promise.all(joined);

    const toBob = next(bob, "message");
    const echo = next(alice, "message");
    const ack = await alice.publish("lobby", { text: "hi" });
    const [received, echoed] = await Promise.all([toBob, echo]);
    assert.equal(received.offset, ack.offset);
    assert.deepEqual(received.data, { text: "hi" });
    assert.equal(received.from, alice.connectionId);
    assert.equal(echoed.offset, ack.offset);

    // echo: false: alice's next message is bob's, not her own.
    const aliceNext = next(alice, "message");
    await alice.publish("lobby", "quiet", { echo: false });
    await bob.publish("lobby", "loud");
    assert.equal((await aliceNext).data, "loud");

    const rtt = await alice.ping();
    assert.ok(rtt >= 0 && rtt < 5_000, `round trip ${rtt} ms`);
    await assert.rejects(alice.publish("elsewhere", 1), { code: "not_joined" });
  } finally {
    alice.close();
    bob.close();
    await sockets.settled();
  }
});

Deno.test("SDK reconnects to a restarted server, rejoins and reports lost history", async () => {
  await using first = await startTestServer();
  const port = String(first.addr.port);
  const sockets = tracker();
  const client = sockets.open(first.wsUrl, {
    minReconnectDelayMs: 10,
    maxReconnectDelayMs: 50,
  });
  try {
    const joined = next(client, "joined");
    client.join("lobby");
    await joined;
    await client.publish("lobby", "before");

    const closed = next(client, "close");
    await first.shutdown();
    assert.deepEqual(await closed, {
      code: 1012,
      reason: "Server restart",
      willReconnect: true,
    });
    // Queued while the server is down, sent after the rejoin.
    const queued = client.publish("lobby", "after");
    const rejoined = next(client, "joined", (event) => event.resumed);
    const recovery = next(client, "recovery");
    await using second = await startTestServer({ env: { PORT: port } });
    assert.equal(second.addr.port, first.addr.port);
    await rejoined;
    // A new process means a new epoch: the history is gone.
    assert.deepEqual(await recovery, { room: "lobby", recovered: false });
    assert.equal((await queued).offset, 1);
    assert.equal(client.state, "connected");
  } finally {
    client.close();
    await sockets.settled();
  }
});

Deno.test("SDK refuses a message over the server's maxMessageBytes locally and stays connected", async () => {
  await using server = await startTestServer({
    env: { MAX_MESSAGE_BYTES: "1000" },
  });
  const sockets = tracker();
  const client = sockets.open(server.wsUrl);
  try {
    const joined = next(client, "joined");
    client.join("lobby");
    await joined;
    await assert.rejects(client.publish("lobby", "x".repeat(1_000)), {
      code: "too_big",
    });
    // Still connected: the next message goes through.
    assert.equal(client.state, "connected");
    assert.equal((await client.publish("lobby", "small")).offset, 1);
  } finally {
    client.close();
    await sockets.settled();
  }
});

Deno.test("SDK keeps member lists: one member per user, whatever its tabs", async () => {
  await using server = await startTestServer();
  const sockets = tracker();
  const bob = sockets.open(server.wsUrl, { user: "bob" });
  const alice = sockets.open(server.wsUrl, { user: "alice" });
  const aliceTab = sockets.open(server.wsUrl, { user: "alice" });
  const presence: unknown[] = [];
  bob.on("presence", ({ event, member }) => presence.push([event, member.id]));
  /** A round trip for bob: frames sent to him before it have arrived. */
  const sync = () => bob.publish("lobby", "sync");
  const ids = (client: RoomcastClient) =>
    client.members("lobby").map((member) => member.id).sort();
  try {
    const bobJoined = next(bob, "joined");
    bob.join("lobby", { meta: { name: "Bob" } });
    await bobJoined;
    assert.deepEqual(bob.members("lobby"), [
      { id: "bob", meta: { name: "Bob" } },
    ]);

    const seen = next(bob, "presence");
    const aliceJoined = next(alice, "joined");
    alice.join("lobby", { meta: { name: "Alice" } });
    await aliceJoined;
    assert.equal(alice.memberId, "alice");
    assert.deepEqual(ids(alice), ["alice", "bob"]);
    assert.deepEqual(await seen, {
      room: "lobby",
      event: "join",
      member: { id: "alice", meta: { name: "Alice" } },
    });

    // A second tab of alice: still one member, no presence event.
    const tabJoined = next(aliceTab, "joined");
    aliceTab.join("lobby", { meta: { name: "Alice" } });
    await tabJoined;
    assert.deepEqual(ids(aliceTab), ["alice", "bob"]);
    await sync();
    alice.close(); // One tab left: alice stays.
    await sync();
    assert.deepEqual(ids(bob), ["alice", "bob"]);
    const left = next(bob, "members", (event) => event.members.length === 1);
    aliceTab.close();
    assert.deepEqual((await left).members, [
      { id: "bob", meta: { name: "Bob" } },
    ]);
    assert.deepEqual(presence, [["join", "alice"], ["leave", "alice"]]);
  } finally {
    for (const client of [alice, aliceTab, bob]) client.close();
    await sockets.settled();
  }
});

Deno.test("SDK resumes after its connection is cut, and gets every one of 500 messages once, in order", async () => {
  await using server = await startTestServer({
    env: { HISTORY_SIZE: "2000" },
  });
  await using proxy = startProxy(server.addr.port);
  const sockets = tracker();
  // The reader goes through the proxy, the writer straight to the server.
  const reader = sockets.open(proxy.wsUrl, {
    minReconnectDelayMs: 10,
    maxReconnectDelayMs: 50,
  });
  const writer = sockets.open(server.wsUrl);
  const TOTAL = 500;
  const CUTS = [100, 250, 400];
  const received: unknown[] = [];
  const closes: number[] = [];
  const recoveries: unknown[] = [];
  let resumes = 0;
  /** The writer's latest acked offset. */
  let head = 0;
  /** Messages the writer had published past the reader's position when it resumed. */
  let replayed = 0;
  reader.on("message", (message) => received.push(message.data));
  reader.on("close", ({ code }) => closes.push(code));
  reader.on("recovery", (event) => recoveries.push(event));
  reader.on("joined", ({ resumed, offset }) => {
    if (!resumed) return;
    resumes++;
    replayed += head - offset;
  });
  try {
    const joined = [next(reader, "joined"), next(writer, "joined")];
    reader.join("lobby");
    writer.join("lobby");
    await Promise.all(joined);
    let rejoined: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < TOTAL; i++) {
      if (CUTS.includes(i)) {
        await rejoined; // The previous cut is over: the reader is back.
        rejoined = next(reader, "joined", (event) => event.resumed);
        assert.equal(proxy.cut(), 1);
      }
      head = (await writer.publish("lobby", i)).offset;
    }
    await rejoined;
    // The writer's last word: once the reader has it, it has the rest.
    const done = next(reader, "message", (message) => message.data === "done");
    await writer.publish("lobby", "done");
    await done;
    received.pop();

    const unique = new Set(received);
    const expected = Array.from({ length: TOTAL }, (_, i) => i);
    const lost = expected.filter((i) => !unique.has(i)).length;
    const duplicated = received.length - unique.size;
    report(
      `sdk resume through ${CUTS.length} cuts: sent=${TOTAL} received=${received.length} lost=${lost} duplicated=${duplicated} (about ${replayed} published while the reader was away)`,
    );
    assert.deepEqual(received, expected);
    // A cut is an abnormal closure: no close frame.
    assert.deepEqual(closes, CUTS.map(() => 1006));
    assert.equal(resumes, CUTS.length);
    assert.deepEqual(recoveries, []);
  } finally {
    reader.close();
    writer.close();
    await sockets.settled();
  }
});
