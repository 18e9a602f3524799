import assert from "node:assert/strict";
import { encodedFrame } from "./sse_frame.ts";
import { readPosition, StreamPositions } from "./event_id.ts";
import { SseSocket } from "./sse_socket.ts";

const decoder = new TextDecoder();
const message = (room: string, offset: number) =>
  `{"type":"message","room":"${room}","data":"é","offset":${offset},"epoch":"e1","ts":1,"from":"c"}`;

Deno.test("encodedFrame: one encoding per frame, shared by every recipient until another frame comes", () => {
  const frame = message("a", 3);
  const first = encodedFrame(frame);
  assert.equal(encodedFrame(frame), first);
  assert.equal(decoder.decode(first.data), `data: ${frame}\n\n`);
  assert.equal(first.feedEvent?.length, 0);
  assert.deepEqual(first.change && { ...first.change, bytes: undefined }, {
    kind: "set",
    room: "a",
    segment: "a|e1|3",
    bytes: undefined,
  });
  const other = encodedFrame('{"type":"presence","room":"a"}');
  assert.notEqual(other, first);
  assert.equal(other.feedEvent, null);
  assert.equal(other.change, null);
  assert.notEqual(
    encodedFrame(frame),
    first,
    "one entry: re-read after another frame",
  );
});

Deno.test("StreamPositions: the id line written from shared bytes is the id, through sets, updates and leaves", () => {
  const p = new StreamPositions("sess");
  const line = () => {
    const out = new Uint8Array(p.idLineLength);
    assert.equal(p.writeIdLine(out, 0), out.length);
    return decoder.decode(out);
  };
  assert.equal(line(), "id: 1 sess\n");
  for (const frame of [message("a", 1), message("b", 7), message("a", 2)]) {
    assert.equal(p.apply(readPosition(frame)!), true);
    assert.equal(line(), `id: ${p.id}\n`);
  }
  assert.equal(p.id, "1 sess a|e1|2 b|e1|7");
  assert.equal(p.apply(readPosition(message("a", 2))!), false);
  assert.equal(p.apply({ kind: "left", room: "a" }), true);
  assert.equal(line(), "id: 1 sess b|e1|7\n");
  assert.equal(p.apply({ kind: "left", room: "a" }), false);
});

Deno.test("SseSocket: streams of different sessions sent one broadcast get their own ids and the same data", async () => {
  const sockets = ["s1", "s2"].map((session) =>
    new SseSocket({
      mode: "frames",
      positions: new StreamPositions(session),
      maxBufferedBytes: 1_000_000,
      heartbeatMs: 60_000,
    })
  );
  sockets[1]!.send(message("z", 4)); // s2 is in a second room
  for (const offset of [5, 6]) {
    for (const socket of sockets) socket.send(message("a", offset));
  }
  for (const socket of sockets) socket.close(1000);
  const [one = "", two = ""] = await Promise.all(
    sockets.map((s) => new Response(s.body).text()),
  );
  const event = (id: string, offset: number) =>
    `id: ${id}\ndata: ${message("a", offset)}\n\n`;
  assert.equal(
    one,
    "retry: 200\n\n" + event("1 s1 a|e1|5", 5) + event("1 s1 a|e1|6", 6) +
      'event: close\ndata: {"code":1000,"reason":""}\n\n',
  );
  assert.ok(two.includes(event("1 s2 z|e1|4 a|e1|5", 5)));
  assert.ok(two.includes(event("1 s2 z|e1|4 a|e1|6", 6)));
});
