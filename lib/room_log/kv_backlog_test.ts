/**
 * The write-behind backlog is bounded in bytes and in age, whatever the
 * store does, and a durable publisher hears of the commit, not before. The
 * store is held back with a gate on its commits: no timing.
 */
import assert from "node:assert/strict";
import { gateKv } from "../../tests/_support/gated_kv.ts";
import { LogOverloadedError, type NewMessage } from "./room_log.ts";
import { KvBehindLog, type KvBehindLogOptions } from "./kv_behind.ts";

const TEXT = "x".repeat(60_000);

function big(i: number): NewMessage {
  return { data: { i, text: TEXT }, ts: Date.now(), from: "c1" };
}

async function setup(extra: Partial<KvBehindLogOptions> = {}) {
  const clock = { now: 1_000_000 };
  const gate = gateKv(await Deno.openKv(":memory:"));
  const log = await KvBehindLog.open(gate.kv, {
    maxMessages: 100,
    ttlMs: 600_000,
    flushMs: 60_000, // flushed explicitly
    maxLagMs: 60_000,
    now: () => clock.now,
    ...extra,
  });
  return { clock, gate, log };
}

/** Lets every queued callback run (not a delay: nothing is timed). */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function refusal(promise: Promise<unknown>): Promise<LogOverloadedError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof LogOverloadedError, `refused: ${String(error)}`);
  return error;
}

Deno.test("KvBehindLog: the backlog is bounded in bytes while the store is blocked", async () => {
  const { gate, log } = await setup({ maxBacklogBytes: 300_000 });
  gate.close();
  const flushing = log.flush(); // in flight, held at the gate
  let accepted = 0;
  for (let i = 0; i < 100; i++) {
    const ok = await log.append("r", [big(i)]).then(() => true, () => false);
    if (!ok) break;
    accepted += 1;
  }
  assert.ok(accepted >= 5 && accepted <= 6, `accepted ${accepted}`);
  assert.ok(log.stats.backlogBytes < 300_000 + 61_000);
  const error = await refusal(log.append("r", [big(0)]));
  assert.equal(error.reason, "backlog_bytes");
  assert.ok(error.retryAfterMs > 0);
  // A flush held at the gate frees nothing.
  const blocked = log.flush();
  await gate.blocked();
  await refusal(log.append("other", [big(0)]));
  gate.open();
  await flushing;
  await blocked;
  await log.flush();
  assert.equal(log.stats.backlog, 0);
  const [next] = await log.append("r", [big(99)]);
  assert.equal(next!.offset, accepted + 1, "a refused append took no offset");
  await log.close();
});

Deno.test("KvBehindLog: appends are refused once the oldest uncommitted message is older than maxLagMs", async () => {
  const { clock, gate, log } = await setup({ maxLagMs: 100 });
  await log.append("r", [big(1)]);
  clock.now += 100;
  await log.append("r", [big(2)]); // exactly at the bound: accepted
  clock.now += 1;
  const error = await refusal(log.append("r", [big(3)]));
  assert.equal(error.reason, "backlog_age");
  // A flush that is stuck keeps the age: still refused.
  gate.close();
  const flushing = log.flush();
  await gate.blocked();
  clock.now += 1_000;
  await refusal(log.append("r", [big(3)]));
  assert.ok(log.stats.lagMs >= 1_000);
  gate.open();
  await flushing;
  assert.equal(log.stats.lagMs, 0);
  await log.append("r", [big(3)]);
  await log.close();
});

Deno.test("KvBehindLog: committed() resolves only after the flush that carries the message commits", async () => {
  const { gate, log } = await setup();
  await log.append("r", [big(1)]);
  let first = false;
  const firstDone = log.committed().then(() => void (first = true));
  gate.close();
  const flushing = log.flush();
  await gate.blocked();
  // Appended while that flush is in flight: it needs the next one.
  await log.append("r", [big(2)]);
  let second = false;
  const secondDone = log.committed().then(() => void (second = true));
  await turn();
  assert.equal(first, false, "not committed yet: no durable ack");
  gate.open();
  await flushing;
  await firstDone;
  await turn();
  assert.equal(second, false, "the second message is not committed yet");
  await log.flush();
  await secondDone;
  assert.equal(second, true);
  // Nothing pending: at once.
  await log.committed();
  await log.close();
});

Deno.test("KvBehindLog: committed() rejects when the log is abandoned before the commit", async () => {
  const { gate, log } = await setup();
  gate.close();
  await log.append("r", [big(1)]);
  const waiting = log.committed();
  log.abandon();
  await assert.rejects(waiting, /abandoned/);
  gate.open();
});
