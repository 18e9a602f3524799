/**
 * HISTORY_MEMORY_BYTES and HISTORY_ROOM_BYTES on a real server with
 * `HISTORY=memory`: publishing several times the budget across many rooms
 * keeps the history's bytes (the `history_memory_bytes` gauge on /metrics)
 * within the setting, counts the evictions by reason, and a client resuming
 * from an evicted position is told `recovered: false`, not given a part.
 */
import assert from "node:assert/strict";
import { report, startTestServer, TestClient } from "../_support/harness.ts";

const KEY = `key-${crypto.randomUUID()}`;
const BUDGET = 300_000;
const ROOM_BYTES = 40_000;
const ROOMS = 40;
const PER_ROOM = 12;

/** The value of one series on /metrics (every series has a `node` label). */
async function metric(url: string, name: string, reason?: string) {
  const res = await fetch(`${url}/metrics`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  const text = await res.text();
  const line = text.split("\n").find((l) =>
    l.startsWith(`${name}{`) &&
    (reason === undefined || l.includes(`reason="${reason}"`))
  );
  // A labelled series appears once counted; before, it reads 0.
  if (line === undefined && reason !== undefined) return 0;
  assert.ok(line !== undefined, `no ${name} on /metrics`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

Deno.test("HISTORY_MEMORY_BYTES: publishing ~5× the budget over 40 rooms keeps history within it; evicted positions resume with recovered:false", async () => {
  await using server = await startTestServer({
    env: {
      API_KEY: KEY,
      HISTORY: "memory",
      HISTORY_MEMORY_BYTES: String(BUDGET),
      HISTORY_ROOM_BYTES: String(ROOM_BYTES),
      HISTORY_SIZE: "1000",
    },
  });
  const gauge = "roomcast_history_memory_bytes";
  await using publisher = await TestClient.open(server.wsUrl);
  const epochs: string[] = [];
  for (let r = 0; r < ROOMS; r++) {
    epochs.push((await publisher.join(`room${r}`)).epoch);
  }
  const text = "x".repeat(3_000);
  let peak = 0;
  let published = 0;
  for (let r = 0; r < ROOMS; r++) {
    for (let i = 0; i < PER_ROOM; i++) {
      publisher.send({
        type: "publish",
        room: `room${r}`,
        data: text,
        id: published++,
      });
    }
    for (let i = 0; i < PER_ROOM; i++) {
      await publisher.next("ack", { skip: true });
    }
    const bytes = await metric(server.url, gauge);
    assert.ok(bytes <= BUDGET, `${bytes} bytes held after room ${r}`);
    peak = Math.max(peak, bytes);
  }
  const sent = published * (text.length + 100);
  assert.ok(sent > 4 * BUDGET, `published ${sent} bytes`);
  assert.ok(peak > BUDGET / 2, "the budget is used, not just refused");
  const byBudget = await metric(
    server.url,
    "roomcast_history_evicted_messages_total",
    "budget",
  );
  const byRoom = await metric(
    server.url,
    "roomcast_history_evicted_messages_total",
    "room_bytes",
  );
  // 12 × ~3.1 KB = ~37 KB per room fits ROOM_BYTES; a 13th would not.
  assert.equal(byRoom, 0);
  assert.ok(byBudget > 0);
  report(
    `history budget: published ${published} × 3 KB (${
      (sent / 1e6).toFixed(1)
    } MB) over ${ROOMS} rooms; gauge peak ${peak} ≤ ${BUDGET}; ` +
      `${byBudget} evicted by the budget`,
  );

  // The first room was evicted (oldest first): no partial replay.
  await using back = await TestClient.open(server.wsUrl);
  back.send({
    type: "join",
    room: "room0",
    since: { offset: 0, epoch: epochs[0]! },
  });
  const resumed = await back.next("joined");
  assert.equal(resumed.recovered, false);
  assert.equal(resumed.offset, PER_ROOM);
  // The newest room is whole.
  back.send({
    type: "join",
    room: `room${ROOMS - 1}`,
    since: { offset: 0, epoch: epochs[ROOMS - 1]! },
  });
  const whole = await back.next("joined", { skip: true });
  assert.equal(whole.recovered, true);
  for (let i = 1; i <= PER_ROOM; i++) {
    assert.equal((await back.next("message", { skip: true })).offset, i);
  }

  // The per-room cap: more than ROOM_BYTES into one room.
  for (let i = 0; i < 20; i++) {
    publisher.send({ type: "publish", room: "room1", data: text, id: `c${i}` });
  }
  for (let i = 0; i < 20; i++) await publisher.next("ack", { skip: true });
  assert.ok(
    await metric(
      server.url,
      "roomcast_history_evicted_messages_total",
      "room_bytes",
    ) > 0,
  );
});
