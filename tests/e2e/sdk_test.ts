/**
 * The SDK (lib/client/) in Deno against a real server on port 0: publish
 * and ack, echo, ping, reconnect and rejoin after a server restart, and the
 * terminal 1009 close. Waits on SDK events, never on the clock.
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
import { startTestServer } from "../_harness.ts";

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

Deno.test("SDK stops for good when the server closes with 1009", async () => {
  await using server = await startTestServer();
  const sockets = tracker();
  const client = sockets.open(server.wsUrl);
  try {
    const joined = next(client, "joined");
    client.join("lobby");
    await joined;
    const closed = next(client, "close");
    await assert.rejects(client.publish("lobby", "x".repeat(70_000)), {
      code: "closed",
    });
    const info = await closed;
    assert.equal(info.code, 1009);
    assert.equal(info.willReconnect, false);
    assert.equal(client.state, "disconnected");
  } finally {
    client.close();
    await sockets.settled();
  }
});
