/**
 * The SDK's fallback against a real server behind a proxy that blocks
 * WebSocket (answers upgrades with 400, or drops them): the client moves to
 * SSE after `fallbackAfter` attempts, chats both ways with a WebSocket
 * client, and moves back once a probe gets through, without losing or
 * repeating a message. Waits on SDK events, never on the clock.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createClient } from "../../lib/client/mod.ts";
import { report, startTestServer } from "../_support/harness.ts";
import { startProxy, type UpgradePolicy } from "../_support/proxy.ts";
import { next } from "../_support/sdk.ts";

for (const upgrades of ["refuse", "drop"] satisfies UpgradePolicy[]) {
  Deno.test(`SDK falls back to SSE when a proxy ${upgrades}s WebSocket upgrades, and chats with a WebSocket client`, async () => {
    await using server = await startTestServer();
    await using proxy = startProxy(server.addr.port, { upgrades });
    const blocked = createClient(proxy.wsUrl, {
      minReconnectDelayMs: 10,
      maxReconnectDelayMs: 50,
    });
    const direct = createClient(server.wsUrl, { transports: ["websocket"] });
    const changes: unknown[] = [];
    blocked.on("transport", (change) => changes.push(change));
    try {
      assert.equal(blocked.transport, "websocket");
      const joined = [next(blocked, "joined"), next(direct, "joined")];
      blocked.join("lobby");
      direct.join("lobby");
      await Promise.all(joined);
      assert.equal(blocked.transport, "sse");
      assert.deepEqual(changes, [
        { previous: "websocket", transport: "sse", cause: "fallback" },
      ]);
      assert.equal(proxy.blocked, 2); // fallbackAfter: 2 by default.
      assert.equal(server.metrics.get("sse_streams_total", "session"), 1);

      const toDirect = next(direct, "message");
      const ack = await blocked.publish("lobby", "over sse");
      assert.deepEqual(
        [(await toDirect).data, (await toDirect).offset],
        ["over sse", ack.offset],
      );
      const toBlocked = next(blocked, "message", (m) => m.data === "over ws");
      await direct.publish("lobby", "over ws");
      assert.equal((await toBlocked).from, direct.connectionId);
    } finally {
      blocked.close();
      direct.close();
    }
  });
}

Deno.test("SDK on SSE moves back to WebSocket once a probe gets through, missing and repeating nothing", async () => {
  await using server = await startTestServer();
  await using proxy = startProxy(server.addr.port, { upgrades: "refuse" });
  const reader = createClient(proxy.wsUrl, {
    minReconnectDelayMs: 10,
    maxReconnectDelayMs: 50,
    probeIntervalMs: 100,
  });
  const writer = createClient(server.wsUrl);
  const received: unknown[] = [];
  reader.on("message", (message) => received.push(message.data));
  try {
    const joined = [next(reader, "joined"), next(writer, "joined")];
    reader.join("lobby");
    writer.join("lobby");
    await Promise.all(joined);
    assert.equal(reader.transport, "sse");
    const probesBefore = proxy.blocked;
    // Keep publishing while the proxy starts letting WebSocket through.
    const back = next(reader, "transport", undefined, 10_000);
    let sent = 0;
    let moved = false;
    back.then(() => moved = true);
    while (!moved && sent < 5_000) {
      await writer.publish("lobby", sent++);
      if (sent === 20) proxy.upgrades = "pass";
    }
    assert.deepEqual(await back, {
      previous: "sse",
      transport: "websocket",
      cause: "probe",
    });
    const rejoined = next(reader, "joined", (event) => event.resumed);
    for (let i = 0; i < 20; i++) await writer.publish("lobby", sent++);
    await rejoined;
    const done = next(reader, "message", (message) => message.data === "done");
    await writer.publish("lobby", "done");
    await done;
    received.pop();
    report(
      `sdk move back: sent=${sent} received=${received.length} blocked probes=${
        proxy.blocked - probesBefore
      }`,
    );
    assert.equal(reader.transport, "websocket");
    assert.deepEqual(received, Array.from({ length: sent }, (_, i) => i));
  } finally {
    reader.close();
    writer.close();
  }
});
