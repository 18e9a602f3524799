/**
 * The SDK's SSE link under sustained publishing near the rate limit over a
 * long round trip (a proxy holds every answer 30 ms): the link's copy of the
 * server's bucket takes what each POST's answer reports, so the link keeps
 * the outbox's pace. Without it the copy lost each flight's refill, the link
 * fell to ~70% of the rate, its queue filled and it closed with 1006 (see
 * lib/client/_sse_budget.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createClient } from "../../lib/client/mod.ts";
import { startTestServer } from "../_support/harness.ts";
import { startProxy } from "../_support/proxy.ts";
import { next, tracker } from "../_support/sdk.ts";

// 1,000 frames a second, burst 200: the SDK paces itself to 90% (900/s).
// Answers 30 ms late: without the answers' figure the link carried at most
// 64 frames per ~100 ms (a ~35 ms flight, then ~64 ms of refill), ~650/s,
// and its queue (1,024 frames) filled after ~3,600 frames. With it, a POST
// carries what refilled over one flight (~35 frames), well within the burst.
const ENV = {
  RATE_LIMIT_PER_S: "1000",
  RATE_LIMIT_BURST: "200",
  SSE_HEARTBEAT_MS: "60000",
};
const FRAMES = 5_000;

Deno.test("SDK on SSE keeps up with 90% of the rate limit over a slow link: every publish acked and delivered once, in order, the link never closed", async () => {
  await using server = await startTestServer({ env: ENV });
  await using proxy = startProxy(server.addr.port, { answerDelayMs: 30 });
  const sockets = tracker("sse");
  const publisher = sockets.open(proxy.wsUrl, { maxQueueSize: FRAMES });
  const reader = createClient(server.wsUrl, { transports: ["websocket"] });
  const closes: number[] = [];
  const errors: unknown[] = [];
  publisher.on("close", ({ code }) => closes.push(code));
  publisher.on("error", (error) => errors.push(error));
  const received: unknown[] = [];
  const all = Promise.withResolvers<void>();
  reader.on("message", (message) => {
    if (message.room !== "load") return;
    received.push(message.data);
    if (received.length === FRAMES) all.resolve();
  });
  try {
    const joined = [next(publisher, "joined"), next(reader, "joined")];
    publisher.join("load");
    reader.join("load");
    await Promise.all(joined);
    assert.equal(publisher.transport, "sse");
    const acks = await Promise.all(
      Array.from(
        { length: FRAMES },
        (_, i) => publisher.publish("load", { i }, { echo: false }),
      ),
    );
    await all.promise;
    assert.deepEqual(closes, []);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      acks.map((ack) => ack.offset),
      Array.from({ length: FRAMES }, (_, i) => i + 1),
    );
    assert.deepEqual(
      received.map((data) =>
        typeof data === "object" && data !== null && "i" in data
          ? data.i
          : undefined
      ),
      Array.from({ length: FRAMES }, (_, i) => i),
    );
    assert.equal(server.metrics.get("rate_limited_total"), 0);
    assert.equal(server.metrics.get("sse_streams_total", "session"), 1);
  } finally {
    publisher.close();
    reader.close();
    await sockets.settled();
  }
});
