/**
 * The SDK (lib/client/) resuming through connection cuts: a TCP proxy ends
 * the reader's connection three times without a close frame while a writer
 * publishes; the reader gets every message once, in order.
 *
 * @module
 */

import assert from "node:assert/strict";
import { report, startTestServer } from "../_support/harness.ts";
import { startProxy } from "../_support/proxy.ts";
import { eachTransport, next, tracker } from "../_support/sdk.ts";

eachTransport(
  "SDK resumes after its connection is cut, and gets every one of 500 messages once, in order",
  async (transport) => {
    await using server = await startTestServer({
      env: { HISTORY_SIZE: "2000" },
    });
    await using proxy = startProxy(server.addr.port);
    const sockets = tracker(transport);
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
          // Over SSE the stream, and its POSTs' connection if still open.
          const cut = proxy.cut();
          assert.ok(transport === "sse" ? cut >= 1 : cut === 1, `cut ${cut}`);
        }
        head = (await writer.publish("lobby", i)).offset;
      }
      await rejoined;
      // The writer's last word: once the reader has it, it has the rest.
      const done = next(
        reader,
        "message",
        (message) => message.data === "done",
      );
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
  },
);
