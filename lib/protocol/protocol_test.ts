import assert from "node:assert/strict";
import { ERROR_CODE } from "./codes.ts";
import {
  isJson,
  isValidRoomName,
  isValidUserName,
  parseClientMessage,
  parseServerMessage,
  ProtocolError,
} from "./mod.ts";

function codeOf(text: string): string {
  try {
    parseClientMessage(text);
  } catch (error) {
    assert.ok(error instanceof ProtocolError);
    return error.code;
  }
  throw new Error(`Expected ${text} to be rejected`);
}

Deno.test("parseClientMessage() accepts every message type", () => {
  assert.deepEqual(parseClientMessage('{"type":"join","room":"a"}'), {
    type: "join",
    room: "a",
  });
  assert.deepEqual(
    parseClientMessage(
      '{"type":"join","room":"a","since":{"offset":4,"epoch":"e1"}}',
    ),
    { type: "join", room: "a", since: { offset: 4, epoch: "e1" } },
  );
  assert.deepEqual(parseClientMessage('{"type":"leave","room":"a"}'), {
    type: "leave",
    room: "a",
  });
  assert.deepEqual(
    parseClientMessage(
      '{"type":"publish","room":"a","data":{"x":[1,null]},"id":"m1","echo":false}',
    ),
    {
      type: "publish",
      room: "a",
      data: { x: [1, null] },
      id: "m1",
      echo: false,
    },
  );
  assert.deepEqual(
    parseClientMessage('{"type":"publish","room":"a","data":1,"durable":true}'),
    { type: "publish", room: "a", data: 1, durable: true },
  );
  assert.deepEqual(parseClientMessage('{"type":"ping","id":7}'), {
    type: "ping",
    id: 7,
  });
  assert.deepEqual(parseClientMessage('{"type":"ping"}'), { type: "ping" });
});

Deno.test("parseClientMessage() accepts null and falsy data", () => {
  for (const data of ["null", "0", "false", '""']) {
    const msg = parseClientMessage(
      `{"type":"publish","room":"a","data":${data}}`,
    );
    assert.equal(msg.type, "publish");
  }
});

Deno.test("parseClientMessage() rejects bad frames with stable codes", () => {
  assert.equal(codeOf("not json"), ERROR_CODE.BAD_JSON);
  assert.equal(codeOf(""), ERROR_CODE.BAD_JSON);
  assert.equal(codeOf("[1,2]"), ERROR_CODE.BAD_MESSAGE);
  assert.equal(codeOf("null"), ERROR_CODE.BAD_MESSAGE);
  assert.equal(codeOf('"join"'), ERROR_CODE.BAD_MESSAGE);
  assert.equal(codeOf('{"type":5}'), ERROR_CODE.BAD_MESSAGE);
  assert.equal(codeOf('{"type":["join"]}'), ERROR_CODE.BAD_MESSAGE);
  assert.equal(codeOf('{"type":"zap"}'), ERROR_CODE.UNKNOWN_TYPE);
  assert.equal(codeOf('{"type":"join"}'), ERROR_CODE.BAD_ROOM);
  assert.equal(codeOf('{"type":"join","room":""}'), ERROR_CODE.BAD_ROOM);
  assert.equal(codeOf('{"type":"join","room":"a b"}'), ERROR_CODE.BAD_ROOM);
  assert.equal(
    codeOf(`{"type":"join","room":"${"a".repeat(201)}"}`),
    ERROR_CODE.BAD_ROOM,
  );
  assert.equal(
    codeOf('{"type":"join","room":"a","since":{"offset":-1,"epoch":"e"}}'),
    ERROR_CODE.BAD_MESSAGE,
  );
  assert.equal(
    codeOf('{"type":"join","room":"a","since":{"offset":"1","epoch":"e"}}'),
    ERROR_CODE.BAD_MESSAGE,
  );
  assert.equal(
    codeOf('{"type":"publish","room":"a"}'),
    ERROR_CODE.BAD_MESSAGE,
  );
  assert.equal(
    codeOf('{"type":"publish","room":"a","data":1,"echo":"no"}'),
    ERROR_CODE.BAD_MESSAGE,
  );
  assert.equal(
    codeOf('{"type":"publish","room":"a","data":1,"durable":1}'),
    ERROR_CODE.BAD_MESSAGE,
  );
  assert.equal(
    codeOf('{"type":"publish","room":"a","data":1,"id":{"x":1}}'),
    ERROR_CODE.BAD_MESSAGE,
  );
  assert.equal(codeOf('{"type":"ping","id":1.5}'), ERROR_CODE.BAD_MESSAGE);
});

Deno.test("parseClientMessage() keeps the id of a rejected message as ref", () => {
  try {
    parseClientMessage('{"type":"publish","room":"bad room","data":1,"id":9}');
    assert.fail("should throw");
  } catch (error) {
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.ref, 9);
  }
});

Deno.test("parseClientMessage() survives hostile shapes", () => {
  // Nesting far past the limit is refused, without overflowing the stack.
  const deep = "[".repeat(20_000) + "]".repeat(20_000);
  assert.equal(
    codeOf(`{"type":"publish","room":"a","data":${deep}}`),
    ERROR_CODE.TOO_DEEP,
  );
  const proto = parseClientMessage(
    '{"type":"publish","room":"a","data":{"__proto__":{"polluted":1}}}',
  );
  assert.equal(proto.type, "publish");
  assert.equal(Reflect.get({}, "polluted"), undefined);
});

Deno.test("isValidRoomName() allows exactly [A-Za-z0-9_.:@=,;-]{1,200}", () => {
  assert.ok(isValidRoomName("a"));
  assert.ok(isValidRoomName("Team_1.chat:room@host-x"));
  // Pusher's channel characters: every Pusher channel is a room.
  assert.ok(isValidRoomName("private-encrypted-a=b,c;d"));
  assert.ok(isValidRoomName("a".repeat(200)));
  assert.ok(!isValidRoomName("a".repeat(201)));
  for (
    const bad of ["", "a/b", "a b", "é", "a*", "a#b", "{a}", "a\u0000", 5, null]
  ) {
    assert.ok(!isValidRoomName(bad), String(bad));
  }
});

Deno.test("isValidUserName() keeps the member rule [A-Za-z0-9_.:@-]{1,128}", () => {
  assert.ok(isValidUserName("alice@example.com"));
  assert.ok(isValidUserName("a".repeat(128)));
  assert.ok(!isValidUserName("a".repeat(129)));
  assert.ok(!isValidUserName("a=b"));
  assert.ok(!isValidUserName(""));
});

Deno.test("isJson() rejects values JSON cannot carry", () => {
  assert.ok(isJson({ a: [1, "x", null, true] }));
  assert.ok(!isJson(undefined));
  assert.ok(!isJson({ a: () => 1 }));
  assert.ok(!isJson([Number.NaN]));
});

Deno.test("parseServerMessage() validates what the server sends", () => {
  assert.deepEqual(
    parseServerMessage(
      '{"type":"message","room":"a","data":{"t":1},"offset":3,"epoch":"e","ts":5,"from":"c1"}',
    ),
    {
      type: "message",
      room: "a",
      data: { t: 1 },
      offset: 3,
      epoch: "e",
      ts: 5,
      from: "c1",
    },
  );
  assert.deepEqual(
    parseServerMessage(
      '{"type":"error","code":"not_joined","message":"m","ref":2}',
    ),
    { type: "error", code: "not_joined", message: "m", ref: 2 },
  );
  assert.throws(
    () =>
      parseServerMessage(
        '{"type":"joined","room":"a","offset":"1","epoch":"e"}',
      ),
    ProtocolError,
  );
  assert.throws(
    () => parseServerMessage('{"type":"error","code":"made_up","message":"m"}'),
    ProtocolError,
  );
  assert.throws(() => parseServerMessage('{"type":"nope"}'), ProtocolError);
});

Deno.test("parseServerMessage() reads a re-join's short answer and presence updates", () => {
  assert.deepEqual(
    parseServerMessage(
      '{"type":"joined","room":"r","offset":3,"epoch":"e","rejoined":true}',
    ),
    { type: "joined", room: "r", offset: 3, epoch: "e", rejoined: true },
  );
  assert.throws(
    () =>
      parseServerMessage('{"type":"joined","room":"r","offset":3,"epoch":"e"}'),
    /members/,
  );
  const update = {
    type: "presence",
    room: "r",
    event: "update",
    member: { id: "ann", meta: { away: true } },
  };
  assert.deepEqual(parseServerMessage(JSON.stringify(update)), update);
  assert.throws(
    () => parseServerMessage(JSON.stringify({ ...update, event: "later" })),
    (error: unknown) =>
      error instanceof ProtocolError &&
      error.code === ERROR_CODE.UNKNOWN_TYPE,
  );
});

Deno.test("parseClientMessage() refuses data and meta nested deeper than the limit with too_deep", () => {
  const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
  const publish = (depth: number) =>
    `{"type":"publish","room":"r","id":"p","data":${nested(depth)}}`;
  // The default, MAX_JSON_DEPTH (128): at it accepted, one deeper refused.
  assert.equal(parseClientMessage(publish(128)).type, "publish");
  assert.equal(codeOf(publish(129)), ERROR_CODE.TOO_DEEP);
  assert.equal(codeOf(publish(5_000)), ERROR_CODE.TOO_DEEP);
  // Objects count like arrays; a scalar is depth 0.
  assert.equal(
    parseClientMessage(publish(0).replace('data":', 'data":1')).type,
    "publish",
  );
  const objects = (depth: number) =>
    '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
  assert.equal(
    parseClientMessage(`{"type":"publish","room":"r","data":${objects(3)}}`, 3)
      .type,
    "publish",
  );
  assert.throws(
    () =>
      parseClientMessage(
        `{"type":"publish","room":"r","id":"p","data":${objects(4)}}`,
        3,
      ),
    (e: unknown) =>
      e instanceof ProtocolError && e.code === "too_deep" && e.ref === "p",
  );
  // Meta too.
  assert.equal(
    codeOf(`{"type":"join","room":"r","meta":${nested(200)}}`),
    ERROR_CODE.TOO_DEEP,
  );
  // A wide but shallow value is fine (object, array, pair, inner array: 4).
  const wide = JSON.stringify({ a: Array(1_000).fill([1, [2]]) });
  assert.equal(
    parseClientMessage(`{"type":"publish","room":"r","data":${wide}}`, 4).type,
    "publish",
  );
});

Deno.test("parseClientMessage() reads join history: 1 to MAX_JOIN_HISTORY, 0 is none, others refused", () => {
  assert.deepEqual(
    parseClientMessage('{"type":"join","room":"r","history":20}'),
    { type: "join", room: "r", history: 20 },
  );
  assert.deepEqual(
    parseClientMessage('{"type":"join","room":"r","history":0}'),
    { type: "join", room: "r" },
  );
  for (const bad of ["-1", "1.5", '"3"', "1001", "null"]) {
    assert.throws(
      () => parseClientMessage(`{"type":"join","room":"r","history":${bad}}`),
      (error: unknown) =>
        error instanceof ProtocolError && error.code === "bad_message",
      bad,
    );
  }
});
