/**
 * The SDK (lib/client/) in Deno against a real server on port 0: publish
 * and ack, echo, ping, reconnect and rejoin after a server restart, the
 * local `too_big` refusal, presence, and expiring tokens (4401, a fresh
 * token, a lossless resume). Waits on SDK events, never on the clock.
 *
 * @module
 */

import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import { createClient, type RoomcastClient } from "../../lib/client/mod.ts";
import { report, startTestServer } from "../_support/harness.ts";
import { eachTransport, next, tracker } from "../_support/sdk.ts";

eachTransport(
  "SDK publishes with acks, echoes and pings against a real server",
  async (transport) => {
    await using server = await startTestServer();
    const sockets = tracker(transport);
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
      await assert.rejects(alice.publish("elsewhere", 1), {
        code: "not_joined",
      });
    } finally {
      alice.close();
      bob.close();
      await sockets.settled();
    }
  },
);

eachTransport(
  "SDK reconnects to a restarted server, rejoins and reports lost history",
  async (transport) => {
    await using first = await startTestServer();
    const port = String(first.addr.port);
    const sockets = tracker(transport);
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
  },
);

eachTransport(
  "SDK refuses a message over the server's maxMessageBytes locally and stays connected",
  async (transport) => {
    await using server = await startTestServer({
      env: { MAX_MESSAGE_BYTES: "1000" },
    });
    const sockets = tracker(transport);
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
  },
);

eachTransport(
  "SDK keeps member lists: one member per user, whatever its tabs",
  async (transport) => {
    await using server = await startTestServer();
    const sockets = tracker(transport);
    const bob = sockets.open(server.wsUrl, { user: "bob" });
    const alice = sockets.open(server.wsUrl, { user: "alice" });
    const aliceTab = sockets.open(server.wsUrl, { user: "alice" });
    const presence: unknown[] = [];
    bob.on(
      "presence",
      ({ event, member }) => presence.push([event, member.id]),
    );
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
  },
);

/** 32 characters, as `AUTH_SECRET` wants at least 16. */
const SECRET = "e2e-secret-for-hs256-tokens-0032";

/** A token for `sub` that expires `ttlS` seconds from now (whole seconds, as JWTs do). */
function mint(sub: string, ttlS: number): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + ttlS;
  return signHs256({ sub, name: sub.toUpperCase(), exp }, SECRET);
}

eachTransport(
  "SDK with expiring tokens: closed with 4401 on expiry, reconnects with a fresh token, misses nothing",
  async (transport) => {
    await using server = await startTestServer({
      env: { AUTH_SECRET: SECRET, ALLOW_ANONYMOUS: "0", AUTH_LEEWAY_S: "0" },
    });
    const sockets = tracker(transport);
    const issued: string[] = [];
    const reader = sockets.open(server.wsUrl, {
      // exp = now + 2 s: each token lasts 1 to 2 s.
      token: async () => {
        const token = await mint("reader", 2);
        issued.push(token);
        return token;
      },
      minReconnectDelayMs: 100,
      maxReconnectDelayMs: 200,
      minUptimeMs: 500,
    });
    const writer = sockets.open(server.wsUrl, {
      token: await mint("writer", 60),
    });
    const EXPIRIES = 2;
    const received: unknown[] = [];
    const closes: Array<{ code: number; at: number }> = [];
    const resumedAfterMs: number[] = [];
    let sent = 0;
    let away = 0; // Messages acked while the reader was disconnected.
    let connected = true;
    const recoveries: unknown[] = [];
    reader.on("recovery", (event) => recoveries.push(event));
    reader.on("message", (message) => received.push(message.data));
    reader.on("close", ({ code }) => {
      connected = false;
      closes.push({ code, at: performance.now() });
    });
    reader.on("joined", ({ resumed }) => {
      connected = true;
      if (resumed) resumedAfterMs.push(performance.now() - closes.at(-1)!.at);
    });
    try {
      const joined = [next(reader, "joined"), next(writer, "joined")];
      reader.join("lobby", { meta: { name: "claimed" } });
      writer.join("lobby");
      await Promise.all(joined);
      assert.equal(reader.memberId, "reader");
      // The server stamps the token's name over the claimed one.
      assert.deepEqual(
        reader.members("lobby").find((member) => member.id === "reader"),
        { id: "reader", meta: { name: "READER" } },
      );
      // Publish steadily until the reader went through EXPIRIES expiries.
      while (resumedAfterMs.length < EXPIRIES) {
        await writer.publish("lobby", sent++);
        if (!connected) away++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const done = next(
        reader,
        "message",
        (message) => message.data === "done",
      );
      await writer.publish("lobby", "done");
      await done;
      received.pop();

      const unique = new Set(received);
      const lost = sent - unique.size;
      const duplicated = received.length - unique.size;
      report(
        `sdk token expiry: expiries=${closes.length} tokens=${issued.length} sent=${sent} received=${received.length} lost=${lost} duplicated=${duplicated} published-while-away=${away} reconnect-ms=${
          resumedAfterMs.map((ms) => ms.toFixed(0)).join(",")
        }`,
      );
      assert.deepEqual(received, Array.from({ length: sent }, (_, i) => i));
      assert.deepEqual(closes.map(({ code }) => code), [4401, 4401]);
      assert.ok(away > 0, "messages were published while the reader was away");
      assert.deepEqual(recoveries, []);
      // One token per connection, each fresh (never in a WebSocket's URL).
      assert.equal(issued.length, EXPIRIES + 1);
      assert.equal(new Set(issued).size, issued.length);
      if (transport === "sse") {
        // EventSource cannot set headers: the token is in the stream's query.
        const readerStreams = sockets.streams.filter((url) =>
          issued.includes(url.searchParams.get("token") ?? "")
        );
        assert.deepEqual(
          readerStreams.map((url) => url.searchParams.get("token")),
          issued,
        );
        for (const url of sockets.streams) {
          assert.equal(url.pathname, "/sse");
          assert.equal(url.searchParams.get("batch"), "1");
        }
        return;
      }
      const readerSockets = sockets.opened.filter(({ protocols }) =>
        protocols.some((p) =>
          issued.includes(p.slice("roomcast.token.".length))
        )
      );
      assert.deepEqual(
        readerSockets.map(({ protocols }) => protocols),
        issued.map((token) => [
          "roomcast.v1.batch",
          "roomcast.v1",
          `roomcast.token.${token}`,
        ]),
      );
      for (const { url, socket } of sockets.opened) {
        assert.equal(url, server.wsUrl);
        // The SDK negotiates batch frames by default.
        assert.equal(socket.protocol, "roomcast.v1.batch");
      }
    } finally {
      reader.close();
      writer.close();
      await sockets.settled();
    }
  },
);

eachTransport(
  "SDK with batch: true gets coalesced frames and delivers every message once, in order",
  async (transport) => {
    await using server = await startTestServer({ env: { COALESCE_MS: "20" } });
    const reader = createClient(server.wsUrl, {
      batch: true,
      transports: [transport],
    });
    const writer = createClient(server.wsUrl, { transports: [transport] });
    try {
      const got: number[] = [];
      const all = new Promise<void>((resolve) =>
        reader.on("message", (m) => {
          got.push(Number(m.data));
          if (got.length === 100) resolve();
        })
      );
      const joined = (client: typeof reader) =>
        new Promise<void>((resolve) => client.on("joined", () => resolve()));
      const ready = Promise.all([joined(reader), joined(writer)]);
      reader.join("r");
      writer.join("r");
      await ready;
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => writer.publish("r", i + 1)),
      );
      await all;
      assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i + 1));
      const batches = server.metrics.get("batch_frames_total");
      report(`SDK batch: 100 messages, ${batches} batch frames`);
      assert.ok(batches > 0, "no batch frame was sent");
    } finally {
      reader.close();
      writer.close();
    }
  },
);
