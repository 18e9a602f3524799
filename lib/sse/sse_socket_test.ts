import assert from "node:assert/strict";
import { StreamPositions } from "./event_id.ts";
import { SseSocket } from "./sse_socket.ts";

const open = (mode: "frames" | "feed", maxBufferedBytes = 1_000_000) =>
  new SseSocket({
    mode,
    positions: new StreamPositions("s"),
    maxBufferedBytes,
    heartbeatMs: 60_000,
  });

async function readAll(socket: SseSocket): Promise<string> {
  return await new Response(socket.body).text();
}

Deno.test("SseSocket: unread bytes are its bufferedAmount; past the bound it ends with close 1013", async () => {
  let slow = 0;
  const socket = new SseSocket({
    mode: "frames",
    positions: new StreamPositions("s"),
    maxBufferedBytes: 100,
    heartbeatMs: 60_000,
    onSlow: () => slow++,
  });
  let closed = 0;
  socket.addEventListener("close", () => closed++);
  const frame = '{"type":"pong","ts":1}';
  socket.send(frame);
  assert.ok(socket.bufferedAmount > frame.length);
  while (socket.readyState === 1) socket.send(frame);
  assert.equal(socket.code, 1013);
  assert.equal(slow, 1);
  assert.equal(closed, 1);
  const text = await readAll(socket);
  assert.match(
    text,
    /event: close\ndata: \{"code":1013,"reason":"Slow consumer"\}\n\n$/,
  );
});

Deno.test("SseSocket feed mode: messages as default events with ids, joined named, the rest dropped", async () => {
  const socket = open("feed");
  socket.send('{"type":"welcome","connectionId":"c"}');
  socket.send(
    '{"type":"joined","room":"a","offset":0,"epoch":"e","members":[]}',
  );
  socket.send(
    '{"type":"message","room":"a","data":1,"offset":1,"epoch":"e","ts":1,"from":"c"}',
  );
  socket.send('{"type":"presence","room":"a"}');
  socket.close(1000, "bye");
  const text = await readAll(socket);
  assert.equal(
    text,
    "retry: 200\n\n" +
      'id: 1 s a|e|0\nevent: joined\ndata: {"type":"joined","room":"a","offset":0,"epoch":"e","members":[]}\n\n' +
      'id: 1 s a|e|1\ndata: {"type":"message","room":"a","data":1,"offset":1,"epoch":"e","ts":1,"from":"c"}\n\n' +
      'event: close\ndata: {"code":1000,"reason":"bye"}\n\n',
  );
});

Deno.test("SseSocket: a cancelled body is a client gone (1001), once", async () => {
  const socket = open("frames");
  let closed = 0;
  socket.addEventListener("close", () => closed++);
  await socket.body.cancel();
  assert.equal(socket.readyState, 3);
  assert.equal(socket.code, 1001);
  socket.close(1000);
  socket.send("{}");
  assert.equal(closed, 1);
});
