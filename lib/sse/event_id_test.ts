import assert from "node:assert/strict";
import { parseEventId, StreamPositions } from "./event_id.ts";
import { encodeServerMessage, type Json } from "../protocol/mod.ts";

const message = (room: string, offset: number, data: Json = "x") =>
  encodeServerMessage({
    type: "message",
    room,
    data,
    offset,
    epoch: "e1",
    ts: 1,
    from: "c-1",
  });

Deno.test("StreamPositions: message, batch, joined and left frames move the id", () => {
  const p = new StreamPositions("s1");
  assert.equal(p.id, "1 s1");
  assert.equal(
    p.observe(
      encodeServerMessage({
        type: "joined",
        room: "a",
        offset: 4,
        epoch: "e1",
        members: [],
      }),
    ),
    true,
  );
  assert.equal(p.id, "1 s1 a|e1|4");
  // A payload that looks like a frame's tail does not fool the reader.
  assert.equal(
    p.observe(message("b", 9, { offset: 1, s: ',"offset":77,"epoch":"zz"' })),
    true,
  );
  assert.equal(p.id, "1 s1 a|e1|4 b|e1|9");
  assert.equal(p.observe(`[${message("a", 5)},${message("a", 6)}]`), true);
  assert.equal(p.id, "1 s1 a|e1|6 b|e1|9");
  assert.equal(p.observe('{"type":"ack","id":1,"offset":6}'), false);
  assert.equal(
    p.observe(encodeServerMessage({ type: "left", room: "a" })),
    true,
  );
  assert.equal(p.id, "1 s1 b|e1|9");
});

Deno.test("parseEventId: reads what StreamPositions writes, ignores what is malformed", () => {
  const parsed = parseEventId(
    "1 s1 a|e1|6 b|e1|9 bad|room|x bad!|e|1 a|e2|1",
    10,
  );
  assert.equal(parsed.session, "s1");
  assert.deepEqual([...parsed.positions], [["a", { epoch: "e1", offset: 6 }], [
    "b",
    { epoch: "e1", offset: 9 },
  ]]);
  assert.equal(parseEventId("1 - a|e|1", 10).session, undefined);
  assert.equal(parseEventId("2 s a|e|1", 10).positions.size, 0);
  assert.equal(parseEventId(null, 10).positions.size, 0);
  assert.equal(parseEventId("1 s a|e|1 b|e|2 c|e|3", 2).positions.size, 2);
});
