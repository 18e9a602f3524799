/**
 * No sticky sessions: with `--parallel` Workers on one port, POSTs for a
 * session land on whichever isolate the kernel picks; those that reach the
 * other one are routed over the bus to the stream's isolate, applied there
 * in order and answered once applied.
 */

import assert from "node:assert/strict";
import { startTestWorkers, TestClient } from "../_support/harness.ts";
import { SseClient } from "../_support/sse.ts";

/** POSTs `body` on a fresh connection (SO_REUSEPORT spreads connections, not requests). */
async function postFresh(url: string, body: unknown): Promise<Response> {
  const client = Deno.createHttpClient({});
  try {
    const res = await fetch(url, {
      method: "POST",
      body: JSON.stringify(body),
      client,
    });
    await res.clone().arrayBuffer();
    return res;
  } finally {
    client.close();
  }
}

Deno.test("SSE across isolates: POSTs reaching the other isolate are routed over the bus, applied in order", async () => {
  await using workers = await startTestWorkers({ SSE_HEARTBEAT_MS: "60000" });
  const base = `http://127.0.0.1:${workers.group.port}`;
  await using sse = await SseClient.session(`${base}/sse?user=ann`);
  await using ws = await TestClient.open(`${workers.wsUrl}?user=bob`);
  await ws.join("x");
  const url = `${base}/sse/${sse.session}?user=ann`;
  const join = await postFresh(url, { type: "join", room: "x" });
  assert.equal(join.status, 200);
  await sse.next("joined", { skip: true });

  let routed = 0;
  let local = 0;
  let n = 0;
  while (routed < 3 || local < 1) {
    if (n >= 200) throw new Error("POSTs never reached both isolates");
    n += 1;
    const res = await postFresh(url, [
      { type: "publish", room: "x", data: n, id: n },
      { type: "ping", id: `p${n}` },
    ]);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.applied, 2);
    if (body.routed) routed += 1;
    else local += 1;
  }
  // Every publish arrived once, in order, on the stream and on the WebSocket.
  for (let i = 1; i <= n; i++) {
    assert.equal((await sse.next("message", { skip: true })).data, i);
    assert.equal((await ws.next("message", { skip: true })).data, i);
  }
  const stolen = await postFresh(`${base}/sse/${sse.session}?user=eve`, {
    type: "ping",
  });
  assert.equal(stolen.status, 403);
});
