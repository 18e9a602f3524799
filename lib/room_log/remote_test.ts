/**
 * `--parallel`: a Worker's RemoteLog learns the supervisor's commits (durable
 * acks) and its refusals (the same retryable error), over a real
 * MessageChannel. The supervisor's KV commits are held at a gate.
 */
import assert from "node:assert/strict";
import { gateKv } from "../../tests/_support/gated_kv.ts";
import { LogOverloadedError, type NewMessage } from "./room_log.ts";
import { KvBehindLog } from "./kv_behind.ts";
import { RemoteLog, serveLog } from "./remote.ts";

const TEXT = "x".repeat(60_000);

function big(i: number): NewMessage {
  return { data: { i, text: TEXT }, ts: Date.now(), from: "w1" };
}

async function setup() {
  const gate = gateKv(await Deno.openKv(":memory:"));
  const served = await KvBehindLog.open(gate.kv, {
    maxMessages: 100,
    ttlMs: 600_000,
    flushMs: 60_000, // flushed explicitly
    maxBacklogBytes: 200_000,
    maxLagMs: 600_000,
  });
  const channel = new MessageChannel();
  serveLog(served, channel.port1);
  const remote = new RemoteLog(channel.port2);
  return {
    gate,
    served,
    remote,
    async close() {
      gate.open();
      await remote.close();
      channel.port1.close();
      await served.close();
    },
  };
}

Deno.test("RemoteLog.committed() resolves only once the supervisor's log committed", async () => {
  const t = await setup();
  await t.remote.append("r", [big(1)]);
  let done = false;
  t.gate.close();
  const flushing = t.served.flush();
  await t.gate.blocked();
  const committed = t.remote.committed().then(() => void (done = true));
  // A round trip over the same port: the committed call has been served.
  await t.remote.head("r");
  assert.equal(done, false, "not committed yet");
  t.gate.open();
  await flushing;
  await committed;
  assert.equal(done, true);
  await t.close();
});

Deno.test("RemoteLog: the supervisor's overload refusal arrives as a LogOverloadedError", async () => {
  const t = await setup();
  let error: unknown;
  for (let i = 0; i < 20 && error === undefined; i++) {
    await t.remote.append("r", [big(i)]).catch((e: unknown) => (error = e));
  }
  assert.ok(error instanceof LogOverloadedError, String(error));
  assert.equal(error.reason, "backlog_bytes");
  assert.equal(error.retryAfterMs, 600_000);
  await t.served.flush();
  assert.equal((await t.remote.append("r", [big(0)])).length, 1);
  await t.close();
});
