/** Connection.send(): backpressure without a runtime call per frame. */
import assert from "node:assert/strict";
import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { Connection } from "./connection.ts";
import { Metrics } from "../support/metrics.ts";

function open(maxBufferedBytes: number) {
  const socket = new FakeSocket();
  const metrics = new Metrics();
  const connection = new Connection("c", socket, { maxBufferedBytes, metrics });
  return { socket, metrics, connection };
}

Deno.test("Connection.send() reads bufferedAmount only when the sent bytes could pass the limit", () => {
  const { socket, metrics, connection } = open(1_048_576);
  const frame = "x".repeat(100); // counted as at most 300 bytes
  for (let i = 0; i < 1_000; i++) assert.equal(connection.send(frame), true);
  // 1,000 × 300 bytes fit under 1 MiB after the first read.
  assert.equal(socket.bufferedReads, 1);
  for (let i = 0; i < 4_000; i++) connection.send(frame);
  assert.ok(socket.bufferedReads > 1 && socket.bufferedReads < 10);
  assert.equal(metrics.get("messages_out_total"), 5_000);
  assert.equal(metrics.get("bytes_out_total"), 500_000);
});

Deno.test("Connection.send() still closes a slow consumer with 1013 as soon as its buffer could pass the limit", () => {
  const { socket, metrics, connection } = open(1_000);
  const frame = "x".repeat(100); // 300 bytes each
  socket.bufferedAmount = 0;
  assert.equal(connection.send(frame), true); // read: 0
  assert.equal(connection.send(frame), true); // bound 600
  assert.equal(connection.send(frame), true); // bound 900
  socket.bufferedAmount = 1_001; // the client stopped reading
  assert.equal(connection.send(frame), false); // 1,200 > 1,000: read, too full
  assert.equal(socket.closedWith?.code, 1013);
  assert.equal(socket.sent.length, 3);
  assert.equal(metrics.get("slow_consumers_total"), 1);
  assert.equal(metrics.get("dropped_messages_total", "slow"), 1);
});

Deno.test("Connection.send() rereads after the buffer drained and keeps sending", () => {
  const { socket, connection } = open(1_000);
  const frame = "x".repeat(100);
  socket.bufferedAmount = 800;
  assert.equal(connection.send(frame), true); // 800 ≤ 1,000: bound 1,100
  socket.bufferedAmount = 0; // drained meanwhile
  assert.equal(connection.send(frame), true); // bound would pass: reread 0
  assert.equal(socket.bufferedReads, 2);
  assert.equal(socket.closedWith, undefined);
});
