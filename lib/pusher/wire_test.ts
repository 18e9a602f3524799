import assert from "node:assert/strict";
import {
  channelKind,
  dataString,
  dataValue,
  encodeFrame,
  fromRoomcast,
  isCacheChannel,
  parseClientFrame,
  ROOMCAST_EVENT,
  toRoomcast,
} from "./wire.ts";

Deno.test("parseClientFrame() accepts Pusher frames and explains bad ones", () => {
  assert.deepEqual(
    parseClientFrame('{"event":"pusher:subscribe","data":{"channel":"a"}}'),
    { event: "pusher:subscribe", data: { channel: "a" } },
  );
  assert.deepEqual(
    parseClientFrame('{"event":"client-x","channel":"private-a","data":"s"}'),
    { event: "client-x", channel: "private-a", data: "s" },
  );
  assert.equal(parseClientFrame("{"), "Invalid JSON");
  assert.equal(parseClientFrame("[]"), "Frame is not a JSON object");
  assert.match(String(parseClientFrame('{"event":1}')), /"event"/);
  assert.match(String(parseClientFrame('{"event":""}')), /"event"/);
  assert.match(
    String(parseClientFrame('{"event":"a","channel":5}')),
    /"channel"/,
  );
});

Deno.test("encodeFrame() double-encodes data that is not a string", () => {
  assert.equal(
    encodeFrame("e", { a: 1 }, "c"),
    '{"event":"e","channel":"c","data":"{\\"a\\":1}"}',
  );
  assert.equal(encodeFrame("e", "raw"), '{"event":"e","data":"raw"}');
  assert.equal(
    encodeFrame("client-e", 1, "presence-a", "u1"),
    '{"event":"client-e","channel":"presence-a","data":"1","user_id":"u1"}',
  );
});

Deno.test("dataString(dataValue(s)) gives pusher-js the value s gave it", () => {
  // What pusher-js does with a data string: parse it if it can.
  const seen = (s: string): unknown => {
    try {
      return JSON.parse(s);
    } catch {
      return s;
    }
  };
  for (
    const s of ['{"a":[1,2]}', "hello", '"123"', "123", "null", " {x", '""', ""]
  ) {
    assert.deepEqual(seen(dataString(dataValue(s))), seen(s), s);
  }
  assert.deepEqual(dataValue({ a: 1 }), { a: 1 });
});

Deno.test("dataValue() parses JSON after blanks and leaves text that only starts like JSON", () => {
  assert.deepEqual(dataValue(' \t\r\n{"a":1}'), { a: 1 });
  assert.deepEqual(dataValue("\n[1]"), [1]);
  assert.equal(dataValue("-5"), -5);
  assert.equal(dataValue("true"), true);
  assert.equal(dataValue("false"), false);
  assert.equal(dataValue("null"), null);
  assert.equal(dataValue('"s"'), "s");
  for (
    const text of ["~s=1 pad", "tomato", "nope", "fa", "-", "{x", "   ", "x{}"]
  ) {
    assert.equal(dataValue(text), text, text);
    assert.equal(dataString(text), text, text);
  }
  assert.equal(dataString(" 1"), '" 1"');
});

Deno.test("toRoomcast() and fromRoomcast() map an event to message data and back", () => {
  const data = toRoomcast("order-shipped", '{"id":7}');
  assert.deepEqual(data, { event: "order-shipped", data: { id: 7 } });
  assert.deepEqual(fromRoomcast(data), {
    event: "order-shipped",
    data: { id: 7 },
  });
  const fromUser = toRoomcast("client-typing", { on: true }, "u1");
  assert.deepEqual(fromRoomcast(fromUser), {
    event: "client-typing",
    data: { on: true },
    user_id: "u1",
  });
});

Deno.test("fromRoomcast() delivers other values, and reserved names, as roomcast:message", () => {
  for (
    const value of [
      "hi",
      42,
      null,
      { text: "hello" },
      { event: "x", data: 1, extra: true },
      { event: "pusher_internal:member_added", data: { user_id: "evil" } },
      { event: "pusher:error", data: {} },
      { event: "x", data: 1, user_id: 5 },
    ]
  ) {
    assert.deepEqual(fromRoomcast(value), {
      event: ROOMCAST_EVENT,
      data: value,
    });
  }
});

Deno.test("channelKind() and isCacheChannel() read the prefixes", () => {
  assert.equal(channelKind("news"), "public");
  assert.equal(channelKind("private-a"), "private");
  assert.equal(channelKind("private-encrypted-a"), "encrypted");
  assert.equal(channelKind("presence-a"), "presence");
  assert.ok(isCacheChannel("cache-a"));
  assert.ok(isCacheChannel("private-cache-a"));
  assert.ok(isCacheChannel("presence-cache-a"));
  assert.ok(isCacheChannel("private-encrypted-cache-a"));
  assert.ok(!isCacheChannel("news-cache-a"));
});
