/**
 * Memory under fragment floods (reliability.md B3, B4), measured on a server
 * in its own process: Deno reassembles fragments before roomcast can check
 * the size, so the defence is the close (1009) and authentication before the
 * upgrade. Each case reports the server's RSS before, at its peak and after,
 * and checks that a bystander keeps receiving and that memory stays bounded.
 */
import assert from "node:assert/strict";
import { withBystander } from "../_support/bystander.ts";
import { report } from "../_support/harness.ts";
import { rssMb, spawnServer } from "../_support/process.ts";
import { OPCODE, RawWebSocket } from "../_support/raw_ws.ts";

/** Waits until the server's RSS is at most `limit` MB (or the deadline); returns the last reading. */
async function settle(
  pid: number,
  limit: number,
  ms = 10_000,
): Promise<number> {
  const deadline = Date.now() + ms;
  let rss = await rssMb(pid);
  while (rss > limit && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    rss = await rssMb(pid);
  }
  return rss;
}

Deno.test("B3: 80 × 1 MiB fragments are closed with 1009, the room keeps flowing, the peak stays near one message", async () => {
  await using server = await spawnServer({});
  const url = `ws://127.0.0.1:${server.port}/ws`;
  await using room = await withBystander({ wsUrl: url }, "room");
  await room.stillReceives();
  const before = await rssMb(server.process.pid);
  const flood = await RawWebSocket.open(server.port);
  const chunk = new Uint8Array(1 << 20).fill(0x61);
  let peak = before;
  for (let i = 0; i < 80; i++) {
    const sent = await flood.send({
      opcode: i === 0 ? OPCODE.TEXT : OPCODE.CONTINUATION,
      payload: chunk,
      fin: i === 79,
    });
    if (!sent) break;
    if (i % 10 === 9) peak = Math.max(peak, await rssMb(server.process.pid));
  }
  const ending = await flood.ending(10_000);
  peak = Math.max(peak, await rssMb(server.process.pid));
  await flood.close();
  await room.stillReceives();
  const after = await settle(server.process.pid, before + 32, 3_000);
  const outcome = ending.kind === "close"
    ? `close ${ending.code}`
    : ending.kind;
  report(
    `B3 80 MiB in fragments: ${outcome}; server RSS ${before.toFixed(0)} → ` +
      `peak ${peak.toFixed(0)} → ${
        after.toFixed(0)
      } MB 3 s later (Deno hands ` +
      "the reassembled message to JS as one string; V8 frees the dead string " +
      "at its next major GC, which an idle server may not run for a while)",
  );
  assert.ok(ending.kind === "close" && ending.code === 1009, outcome);
  // One message's worth (80 MiB) plus slack, not a multiple of it.
  assert.ok(
    peak - before < 160,
    `peak ${(peak - before).toFixed(0)} MB over the baseline`,
  );
});

Deno.test("B4: 2,000,000 one-byte fragments without FIN cost little and go when the client does", async () => {
  await using server = await spawnServer({});
  const url = `ws://127.0.0.1:${server.port}/ws`;
  await using room = await withBystander({ wsUrl: url }, "room");
  await room.stillReceives();
  const before = await rssMb(server.process.pid);
  const flood = await RawWebSocket.open(server.port);
  await flood.send({
    opcode: OPCODE.TEXT,
    payload: new Uint8Array([0x61]),
    fin: false,
  });
  const batch = new Uint8Array(10_000 * 7);
  for (let i = 0; i < 10_000; i++) {
    // 2-byte header, 4-byte mask (zero), 1 payload byte.
    batch.set([0x00, 0x81, 0, 0, 0, 0, 0x61], i * 7);
  }
  for (let sent = 0; sent < 2_000_000; sent += 10_000) {
    if (!await flood.sendBytes(batch)) break;
  }
  await room.stillReceives(); // the flood is read before this probe is answered
  const during = await rssMb(server.process.pid);
  await flood.close();
  await room.stillReceives();
  const after = await settle(server.process.pid, before + 16);
  report(
    `B4 2,000,000 one-byte fragments: server RSS ${before.toFixed(0)} → ${
      during.toFixed(0)
    } → ${after.toFixed(0)} MB after the client left`,
  );
  assert.ok(
    during - before < 64,
    `the flood cost ${(during - before).toFixed(0)} MB`,
  );
  assert.ok(
    after - before < 16,
    `RSS stayed ${(after - before).toFixed(0)} MB above its baseline`,
  );
});
