/**
 * The bad-input baseline: each bad frame gets its stated outcome for the
 * sender, and a well-behaved member of the same room keeps receiving.
 */
import assert from "node:assert/strict";
import {
  startTestServer,
  TestClient,
  type TestServer,
} from "../_support/harness.ts";

const LIMIT = 1024;

/** A room with a well-behaved member; returns a check that it still gets messages. */
async function withBystander(server: TestServer) {
  const bystander = await TestClient.open(server.wsUrl);
  const publisher = await TestClient.open(server.wsUrl);
  await bystander.join("room");
  await publisher.join("room");
  let n = 0;
  return {
    /** Publishes a probe and waits for the bystander to get it; returns what came before. */
    async stillReceives(): Promise<unknown[]> {
      n += 1;
      const probe = `ok ${n}`;
      publisher.send({ type: "publish", room: "room", data: probe });
      const before: unknown[] = [];
      for (const client of [bystander, publisher]) {
        while (true) {
          const got = await client.next("message");
          if (got.data === probe) break;
          if (client === bystander) before.push(got.data);
        }
      }
      return before;
    },
    async [Symbol.asyncDispose]() {
      await bystander.close();
      await publisher.close();
    },
  };
}

async function expectError(
  offender: TestClient,
  frame: string,
  code: string,
): Promise<void> {
  offender.send(frame);
  const error = await offender.next("error");
  assert.equal(error.code, code, frame.slice(0, 60));
  assert.equal(typeof error.message, "string");
  // The connection stays open and usable.
  offender.send({ type: "ping", id: code });
  assert.equal((await offender.next("pong")).id, code);
}

Deno.test("bad input: error frames keep the sender connected and others unaffected", async () => {
  await using server = await startTestServer({
    env: { MAX_MESSAGE_BYTES: String(LIMIT) },
  });
  await using room = await withBystander(server);
  await using offender = await TestClient.open(server.wsUrl);
  await offender.join("own");
  const cases: Array<[string, string]> = [
    ["{not json", "bad_json"],
    ["", "bad_json"],
    ["[1,2,3]", "bad_message"],
    ['"a string"', "bad_message"],
    ['{"type":42}', "bad_message"],
    ['{"no":"type"}', "bad_message"],
    ['{"type":"launch"}', "unknown_type"],
    ['{"type":"join","room":"has space"}', "bad_room"],
    ['{"type":"join","room":""}', "bad_room"],
    [`{"type":"join","room":"${"x".repeat(201)}"}`, "bad_room"],
    ['{"type":"join","room":"../etc"}', "bad_room"],
    ['{"type":"join","room":{"$gt":""}}', "bad_room"],
    [
      '{"type":"join","room":"r","since":{"offset":-5,"epoch":"e"}}',
      "bad_message",
    ],
    ['{"type":"publish","room":"elsewhere","data":1}', "not_joined"],
    ['{"type":"publish","room":"own"}', "bad_message"],
    ['{"type":"publish","room":"own","data":1,"echo":"yes"}', "bad_message"],
    ['{"type":"leave","room":"never-joined"}', "not_joined"],
    [
      '{"type":"publish","room":"own","data":{"__proto__":{"polluted":true}},"echo":false}',
      "ok",
    ],
  ];
  for (const [frame, code] of cases) {
    if (code === "ok") {
      offender.send(frame);
    } else {
      await expectError(offender, frame, code);
    }
    await room.stillReceives();
  }
  assert.equal(Reflect.get({}, "polluted"), undefined);
  assert.equal(server.metrics.total("protocol_errors_total"), cases.length - 1);
});

Deno.test("bad input: a message over MAX_MESSAGE_BYTES closes only its sender with 1009", async () => {
  await using server = await startTestServer({
    env: { MAX_MESSAGE_BYTES: String(LIMIT) },
  });
  await using room = await withBystander(server);
  await using exact = await TestClient.open(server.wsUrl);
  await exact.join("room");
  // Exactly at the limit (in UTF-8 bytes) is accepted.
  const envelope = '{"type":"publish","room":"room","echo":false,"data":""}';
  const spare = LIMIT - envelope.length; // bytes left for the data string
  const pad = "é".repeat(Math.floor(spare / 2)) + "a".repeat(spare % 2);
  const atLimit = envelope.replace('""', `"${pad}"`);
  assert.equal(new TextEncoder().encode(atLimit).length, LIMIT);
  exact.send(atLimit);
  assert.deepEqual(await room.stillReceives(), [pad]);
  const offender = await TestClient.open(server.wsUrl);
  offender.send(atLimit + " ");
  const closed = await offender.closed;
  assert.equal(closed.code, 1009);
  assert.match(closed.reason, /exceeds 1024 bytes/);
  await room.stillReceives();
});

Deno.test("bad input: a binary frame closes only its sender with 1003", async () => {
  await using server = await startTestServer();
  await using room = await withBystander(server);
  const offender = await TestClient.open(server.wsUrl);
  offender.socket.send(new Uint8Array([0x7b, 0x7d]));
  const closed = await offender.closed;
  assert.equal(closed.code, 1003);
  await room.stillReceives();
});

Deno.test("bad input: a burst of garbage from many clients leaves the server serving", async () => {
  await using server = await startTestServer();
  await using room = await withBystander(server);
  const offenders = await Promise.all(
    Array.from({ length: 10 }, () => TestClient.open(server.wsUrl)),
  );
  for (const offender of offenders) {
    for (let i = 0; i < 100; i++) offender.send(`{"type":"join","room":${i}}`);
  }
  for (const offender of offenders) {
    offender.send({ type: "ping", id: "end" });
    // 100 errors, then the pong: nothing was lost or reordered.
    for (let i = 0; i < 100; i++) {
      assert.equal((await offender.next("error")).code, "bad_room");
    }
    assert.equal((await offender.next("pong")).id, "end");
  }
  await room.stillReceives();
  await Promise.all(offenders.map((o) => o.close()));
});
