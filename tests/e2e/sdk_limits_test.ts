/**
 * The SDK (lib/client/) against a real server's limits: it paces itself to
 * the per-connection rate limit that `welcome` announces (the server never
 * refuses one of its frames, where an unpaced client is refused), and it
 * keeps retrying when the server refuses its token before the upgrade
 * (401, which the client sees as a failed connection).
 *
 * @module
 */

import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import { report, startTestServer } from "../_support/harness.ts";
import { eachTransport, next, tracker } from "../_support/sdk.ts";

// Burst 40 (the default): a token bucket measured on arrival refuses frames
// that were paced on the wire but bunched by a server stall longer than
// burst ÷ rate, so a tiny burst makes the test flaky on a loaded machine.
const RATE = { RATE_LIMIT_PER_S: "100", RATE_LIMIT_BURST: "40" };

/** Sends a join and `count` publishes at once, unpaced; counts what the server says. */
function unpaced(
  url: string,
  count: number,
): Promise<{ acked: number; refused: number; code: number }> {
  const socket = new WebSocket(url, ["roomcast.v1"]);
  let acked = 0;
  let refused = 0;
  return new Promise((resolve) => {
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data));
      if (message.type === "welcome") {
        socket.send(JSON.stringify({ type: "join", room: "unpaced" }));
        for (let i = 0; i < count; i++) {
          socket.send(
            JSON.stringify({
              type: "publish",
              room: "unpaced",
              data: i,
              id: i,
            }),
          );
        }
      }
      if (message.type === "ack") acked++;
      if (message.type === "error" && message.code === "rate_limited") {
        refused++;
      }
      if (acked + refused === count) socket.close();
    };
    socket.onclose = (event) => resolve({ acked, refused, code: event.code });
  });
}

eachTransport(
  "SDK paces rejoins and publishes to the server's rate limit: nothing refused, every ack",
  async (transport) => {
    await using server = await startTestServer({ env: RATE });
    const ROOMS = 20;
    const PUBLISHES = 100;
    const sockets = tracker(transport);
    const client = sockets.open(server.wsUrl, { maxQueueSize: PUBLISHES });
    const errors: unknown[] = [];
    const closes: number[] = [];
    client.on("error", (error) => errors.push(error));
    client.on("close", ({ code }) => closes.push(code));
    try {
      // Joined and queued before the welcome: all go out at once after it.
      const rooms = Array.from({ length: ROOMS }, (_, i) => `room-${i}`);
      const joined = next(
        client,
        "joined",
        (event) => event.room === "room-19",
      );
      for (const room of rooms) client.join(room);
      const started = performance.now();
      const acks = await Promise.all(
        Array.from(
          { length: PUBLISHES },
          (_, i) => client.publish(rooms[i % ROOMS]!, i),
        ),
      );
      const elapsed = performance.now() - started;
      await joined;
      // 100 per second and 40 at once, of which the client allows itself 90%.
      const floorMs = (ROOMS + PUBLISHES - 36) / 90 * 1000;

      const raw = await unpaced(server.wsUrl, PUBLISHES);

      const took = `${elapsed.toFixed(0)} ms (floor ${floorMs.toFixed(0)} ms)`;
      report(
        `sdk pacing (server 100/s, burst 40): frames=${
          ROOMS + PUBLISHES
        } acked=${acks.length} refused=${errors.length} took ${took}; unpaced client: acked=${raw.acked} refused=${raw.refused} closed=${raw.code}`,
      );
      assert.deepEqual(errors, []);
      assert.deepEqual(closes, []);
      // Offsets count per room: 1 to 5 in each of the 20.
      assert.deepEqual(
        acks.map((ack) => ack.offset),
        acks.map((_, i) => Math.floor(i / ROOMS) + 1),
      );
      // The limit is real. (The server closes the flood with 4029, but while
      // frames are still coming in the client may see 1006 instead.)
      assert.ok(raw.refused > 0 && raw.acked < PUBLISHES, "the limit is real");
    } finally {
      client.close();
      await sockets.settled();
    }
  },
);

eachTransport(
  "SDK keeps retrying when its token is refused before the upgrade, then connects",
  async (transport) => {
    const secret = "e2e-secret-for-hs256-tokens-0032";
    await using server = await startTestServer({
      env: { AUTH_SECRET: secret, ALLOW_ANONYMOUS: "0", AUTH_LEEWAY_S: "0" },
    });
    const sockets = tracker(transport);
    let calls = 0;
    const client = sockets.open(server.wsUrl, {
      // Two expired tokens (401), then a good one.
      token: () => {
        const ttlS = ++calls <= 2 ? -10 : 60;
        const exp = Math.floor(Date.now() / 1000) + ttlS;
        return signHs256({ sub: "ann", exp }, secret);
      },
      minReconnectDelayMs: 20,
      maxReconnectDelayMs: 50,
    });
    const failures: number[] = [];
    const closes: unknown[] = [];
    client.on("close", (info) => {
      closes.push(info);
      failures.push(client.failedConnects);
    });
    try {
      await next(client, "state", ({ newState }) => newState === "connected");
      report(
        `sdk refused tokens: attempts=${calls} failed=${failures.length} then connected`,
      );
      assert.equal(calls, 3);
      assert.deepEqual(failures, [1, 2]);
      // A refused upgrade and a refused stream look alike: no status.
      const reason = transport === "sse" ? "SSE stream failed" : "";
      assert.deepEqual(closes, [
        { code: 1006, reason, willReconnect: true },
        { code: 1006, reason, willReconnect: true },
      ]);
      assert.equal(client.failedConnects, 0);
      assert.equal(client.memberId, "ann");
    } finally {
      client.close();
      await sockets.settled();
    }
  },
);
