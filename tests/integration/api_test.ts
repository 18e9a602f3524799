/**
 * The HTTP publish API: a POST reaches the room's WebSocket members through
 * the same path as a socket publish (offsets, history), the key is checked,
 * every bad request gets its JSON error, bodies are bounded, and members of
 * other rooms keep receiving throughout.
 */
import assert from "node:assert/strict";
import { withBystander } from "../_support/bystander.ts";
import {
  report,
  startTestServer,
  TestClient,
  type TestServer,
} from "../_support/harness.ts";
import { rawRequest } from "../_support/raw_ws.ts";
import type { NewMessage, StoredMessage } from "../../lib/room_log/room_log.ts";
import { MemoryLog } from "../../lib/room_log/memory.ts";

const KEY = `key-${crypto.randomUUID()}`;
const LIMIT = 1024;
const ENV = { API_KEY: KEY, MAX_MESSAGE_BYTES: String(LIMIT) };

interface CallOptions {
  method?: string;
  /** The bearer key; null sends no Authorization header. @default {KEY} */
  key?: string | null;
  body?: BodyInit;
  contentType?: string | null;
  headers?: Record<string, string>;
}

async function call(
  server: TestServer,
  path: string,
  options: CallOptions = {},
) {
  const headers = new Headers(options.headers);
  const key = options.key === undefined ? KEY : options.key;
  if (key !== null) headers.set("authorization", `Bearer ${key}`);
  const contentType = options.contentType === undefined
    ? "application/json"
    : options.contentType;
  if (contentType !== null && options.body !== undefined) {
    headers.set("content-type", contentType);
  }
  const res = await fetch(`${server.url}${path}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const body: unknown = res.headers.get("content-type")?.includes("json")
    ? await res.json()
    : await res.text();
  return { status: res.status, headers: res.headers, body };
}

function errorCode(body: unknown): unknown {
  if (typeof body !== "object" || body === null) return undefined;
  const error: unknown = Reflect.get(body, "error");
  if (typeof error !== "object" || error === null) return undefined;
  assert.equal(typeof Reflect.get(error, "message"), "string");
  return Reflect.get(error, "code");
}

Deno.test("POST /api/rooms/:room/messages reaches members with the next offset and stays in history", async () => {
  await using server = await startTestServer({ env: ENV });
  await using alice = await TestClient.open(server.wsUrl);
  const joined = await alice.join("lobby");
  alice.send({ type: "publish", room: "lobby", data: "from a socket" });
  assert.equal((await alice.next("message")).offset, 1);

  const res = await call(server, "/api/rooms/lobby/messages", {
    body: JSON.stringify({ data: { text: "from the api", n: [1, 2] } }),
  });
  assert.equal(res.status, 201);
  assert.deepEqual(res.body, { room: "lobby", offset: 2, epoch: joined.epoch });

  const live = await alice.next("message");
  assert.deepEqual(
    [live.room, live.offset, live.epoch, live.from, live.data],
    ["lobby", 2, joined.epoch, "api", { text: "from the api", n: [1, 2] }],
  );
  // Any JSON is data, null included.
  const nulled = await call(server, "/api/rooms/lobby/messages", {
    body: '{"data":null}',
    contentType: "application/json; charset=utf-8",
  });
  assert.equal(nulled.status, 201);
  assert.equal((await alice.next("message")).data, null);

  // History has it: a client resuming from 0 gets the socket's and the API's messages.
  await using late = await TestClient.open(server.wsUrl);
  late.send({
    type: "join",
    room: "lobby",
    since: { offset: 0, epoch: joined.epoch },
  });
  const resumed = await late.next("joined");
  assert.equal(resumed.recovered, true);
  const replay = [
    await late.next("message"),
    await late.next("message"),
    await late.next("message"),
  ];
  assert.deepEqual(replay.map((m) => [m.offset, m.from === "api"]), [
    [1, false],
    [2, true],
    [3, true],
  ]);
  assert.equal(server.metrics.get("publishes_total"), 3);
});

Deno.test("/api refuses a missing or wrong key with 401 and WWW-Authenticate", async () => {
  await using server = await startTestServer({ env: ENV });
  const publish = { body: '{"data":1}' };
  const cases: Array<[string, CallOptions]> = [
    ["no header", { ...publish, key: null }],
    ["wrong key", { ...publish, key: "wrong" }],
    ["same length, wrong", { ...publish, key: KEY.replace(/.$/, "#") }],
    ["key with a suffix", { ...publish, key: `${KEY}x` }],
    ["key prefix", { ...publish, key: KEY.slice(0, -1) }],
    ["basic scheme", {
      ...publish,
      key: null,
      headers: { authorization: `Basic ${btoa(`api:${KEY}`)}` },
    }],
    ["GET /api/rooms, no key", { key: null }],
  ];
  for (const [name, options] of cases) {
    const path = name.startsWith("GET")
      ? "/api/rooms"
      : "/api/rooms/lobby/messages";
    const res = await call(server, path, options);
    assert.equal(res.status, 401, name);
    assert.equal(errorCode(res.body), "unauthorized", name);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/, name);
  }
  // The scheme is case-insensitive (RFC 7235).
  const lower = await call(server, "/api/rooms", {
    key: null,
    headers: { authorization: `bearer ${KEY}` },
  });
  assert.equal(lower.status, 200);
  assert.equal(server.metrics.get("publishes_total"), 0);
});

Deno.test("/api answers 404 api_disabled when API_KEY is empty", async () => {
  await using server = await startTestServer();
  for (const path of ["/api/rooms", "/api/rooms/lobby"]) {
    const res = await call(server, path, { key: "anything" });
    assert.equal(res.status, 404);
    assert.equal(errorCode(res.body), "api_disabled");
  }
  const post = await call(server, "/api/rooms/lobby/messages", {
    body: '{"data":1}',
    key: "",
  });
  assert.equal(post.status, 404);
  assert.equal(errorCode(post.body), "api_disabled");
});

Deno.test("bad publish requests get their JSON error while members keep receiving", async () => {
  await using server = await startTestServer({ env: ENV });
  await using room = await withBystander(server);
  const path = "/api/rooms/lobby/messages";
  const oversized = JSON.stringify({ data: "x".repeat(LIMIT) });
  const cases: Array<[string, string, CallOptions, number, string]> = [
    [
      "room with a space",
      "/api/rooms/has%20space/messages",
      {
        body: '{"data":1}',
      },
      400,
      "bad_room",
    ],
    [
      "room of 129 characters",
      `/api/rooms/${"r".repeat(201)}/messages`,
      {
        body: '{"data":1}',
      },
      400,
      "bad_room",
    ],
    [
      "room with a slash",
      "/api/rooms/a%2Fb/messages",
      {
        body: '{"data":1}',
      },
      400,
      "bad_room",
    ],
    ["not JSON", path, { body: "{not json" }, 400, "bad_json"],
    ["empty body", path, { body: "" }, 400, "bad_json"],
    [
      "invalid UTF-8",
      path,
      {
        body: new Uint8Array([0x7b, 0x22, 0x64, 0xff, 0xfe, 0x7d]),
      },
      400,
      "bad_json",
    ],
    ["no data", path, { body: "{}" }, 400, "bad_body"],
    ["an array", path, { body: "[1]" }, 400, "bad_body"],
    ["null", path, { body: "null" }, 400, "bad_body"],
    ["unknown field", path, { body: '{"data":1,"room":"x"}' }, 400, "bad_body"],
    [
      "__proto__ field",
      path,
      {
        body: '{"data":1,"__proto__":{"polluted":true}}',
      },
      400,
      "bad_body",
    ],
    [
      "text/plain",
      path,
      {
        body: '{"data":1}',
        contentType: "text/plain",
      },
      415,
      "unsupported_media_type",
    ],
    [
      "no content type",
      path,
      {
        body: new Blob(['{"data":1}']),
        contentType: null,
      },
      415,
      "unsupported_media_type",
    ],
    [
      "form",
      path,
      {
        body: "data=1",
        contentType: "application/x-www-form-urlencoded",
      },
      415,
      "unsupported_media_type",
    ],
    [
      "over the limit, honest Content-Length",
      path,
      {
        body: oversized,
      },
      413,
      "too_large",
    ],
    [
      "over the limit, chunked",
      path,
      {
        body: chunked(oversized, 100),
      },
      413,
      "too_large",
    ],
    ["unknown path", "/api/nothing", {}, 404, "not_found"],
    ["wrong method", "/api/rooms", { method: "DELETE" }, 404, "not_found"],
  ];
  let tried = 0;
  for (const [name, casePath, options, status, code] of cases) {
    const res = await call(server, casePath, options);
    assert.equal(res.status, status, name);
    assert.equal(errorCode(res.body), code, name);
    await room.stillReceives();
    tried += 1;
  }
  assert.equal(Reflect.get({}, "polluted"), undefined);
  // Exactly at the limit is accepted.
  const envelope = '{"data":""}';
  const spare = LIMIT - envelope.length;
  const pad = "é".repeat(Math.floor(spare / 2)) + "a".repeat(spare % 2);
  const atLimit = envelope.replace('""', `"${pad}"`);
  assert.equal(new TextEncoder().encode(atLimit).length, LIMIT);
  const accepted = await call(server, path, { body: atLimit });
  assert.equal(accepted.status, 201);
  assert.equal(server.metrics.get("publishes_total"), room.probes + 1);
  report(
    `http api: ${tried} bad requests refused with their codes, 1 at-limit accepted, ` +
      `${room.probes} probes delivered to the bystander`,
  );
});

Deno.test("a chunked body that never ends is refused with 413 once it passes the limit", async () => {
  await using server = await startTestServer({ env: ENV });
  await using room = await withBystander(server);
  const port = server.addr.port;
  const chunk = `400\r\n${"x".repeat(1024)}\r\n`;
  // 256 KiB and no terminating chunk: the server must not wait for the end.
  const request = [
    "POST /api/rooms/lobby/messages HTTP/1.1",
    `host: 127.0.0.1:${port}`,
    `authorization: Bearer ${KEY}`,
    "content-type: application/json",
    "transfer-encoding: chunked",
    "",
    chunk.repeat(256),
  ].join("\r\n");
  const outcome = await rawRequest(port, request, 5_000);
  assert.equal(outcome.kind, "response");
  assert.equal(outcome.kind === "response" && outcome.status, 413);
  // A Content-Length over the limit is refused before the body is read.
  const declared = await rawRequest(
    port,
    [
      "POST /api/rooms/lobby/messages HTTP/1.1",
      `host: 127.0.0.1:${port}`,
      `authorization: Bearer ${KEY}`,
      "content-type: application/json",
      `content-length: ${100 * 1024 * 1024}`,
      "",
      '{"data":',
    ].join("\r\n"),
    5_000,
  );
  assert.equal(declared.kind === "response" && declared.status, 413);
  await room.stillReceives();
  assert.equal(server.metrics.get("publishes_total"), room.probes);
});

Deno.test("API log lines carry neither keys nor payloads", async () => {
  const lines: string[] = [];
  const capture = (msg: string, fields?: Record<string, unknown>) =>
    lines.push(JSON.stringify({ msg, ...fields }));
  await using server = await startTestServer({
    env: { ...ENV, LOG_LEVEL: "debug" },
    log: { debug: capture, info: capture, warn: capture, error: capture },
  });
  const secret = `payload-${crypto.randomUUID()}`;
  const wrongKey = `wrong-${crypto.randomUUID()}`;
  const path = "/api/rooms/lobby/messages";
  const body = JSON.stringify({ data: secret });
  assert.equal((await call(server, path, { body })).status, 201);
  assert.equal((await call(server, path, { body, key: wrongKey })).status, 401);
  assert.equal(
    (await call(server, path, { body: `{"data":"${secret}"` })).status,
    400,
  );
  assert.equal(
    (await call(server, path, { body: JSON.stringify({ data: secret, x: 1 }) }))
      .status,
    400,
  );
  assert.ok(lines.length >= 3, "nothing was logged: the check proves nothing");
  for (const line of lines) {
    for (const hidden of [KEY, wrongKey, secret]) {
      assert.ok(!line.includes(hidden), line);
    }
  }
});

/** A room log whose appends fail while `failing` is set. */
class FlakyLog extends MemoryLog {
  failing = true;
  override append(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]> {
    if (this.failing) return Promise.reject(new Error("Store unavailable"));
    return super.append(room, items);
  }
}

Deno.test("a publish the room log cannot store answers 500 internal, and the next one works", async () => {
  const history = new FlakyLog({ maxMessages: 100, ttlMs: 60_000 });
  await using server = await startTestServer({ env: ENV, history });
  const path = "/api/rooms/lobby/messages";
  const failed = await call(server, path, { body: '{"data":1}' });
  assert.equal(failed.status, 500);
  assert.equal(errorCode(failed.body), "internal");
  history.failing = false;
  const ok = await call(server, path, { body: '{"data":2}' });
  assert.equal(ok.status, 201);
  assert.equal(Reflect.get(Object(ok.body), "offset"), 1);
  await history.close();
});

Deno.test("GET /api/rooms and /api/rooms/:room show members and connections", async () => {
  await using server = await startTestServer({ env: ENV });
  const ws = (user: string) => TestClient.open(`${server.wsUrl}?user=${user}`);
  /** Joins with presence metadata, so the member counts in presence. */
  const join = async (client: TestClient, room: string, name: string) => {
    client.send({ type: "join", room, meta: { name } });
    await client.next("joined");
  };
  await using ann = await ws("ann");
  await using annTab = await ws("ann");
  await using bob = await ws("bob");
  await using cat = await ws("cat");
  await join(ann, "lobby", "Ann");
  await join(annTab, "lobby", "Ann");
  await join(bob, "lobby", "Bob");
  await join(cat, "kitchen", "Cat");
  await call(server, "/api/rooms/lobby/messages", { body: '{"data":"hi"}' });

  const list = await call(server, "/api/rooms");
  assert.equal(list.status, 200);
  assert.deepEqual(list.body, {
    rooms: [
      { room: "kitchen", members: 1, localConnections: 1 },
      { room: "lobby", members: 2, localConnections: 3 },
    ],
  });

  const lobby = await call(server, "/api/rooms/lobby");
  assert.equal(lobby.status, 200);
  const info = lobby.body;
  assert.ok(typeof info === "object" && info !== null);
  const members: unknown = Reflect.get(info, "members");
  assert.ok(Array.isArray(members));
  assert.deepEqual(
    members.map((m: unknown) => JSON.stringify(m)).sort(),
    [
      '{"id":"ann","meta":{"name":"Ann"}}',
      '{"id":"bob","meta":{"name":"Bob"}}',
    ],
  );
  assert.equal(Reflect.get(info, "room"), "lobby");
  assert.equal(Reflect.get(info, "localConnections"), 3);
  assert.equal(Reflect.get(info, "offset"), 1);
  assert.equal(typeof Reflect.get(info, "epoch"), "string");

  const empty = await call(server, "/api/rooms/nobody-here");
  assert.equal(empty.status, 200);
  assert.deepEqual(
    [
      Reflect.get(Object(empty.body), "members"),
      Reflect.get(Object(empty.body), "localConnections"),
      Reflect.get(Object(empty.body), "offset"),
    ],
    [[], 0, 0],
  );
  const bad = await call(server, "/api/rooms/no%20spaces");
  assert.equal(bad.status, 400);
  assert.equal(errorCode(bad.body), "bad_room");

  await bob.close();
  await cat.close();
  // Once the server has seen the closes, the listing follows.
  const deadline = Date.now() + 5_000;
  while (true) {
    const after = await call(server, "/api/rooms");
    const rooms: unknown = Reflect.get(Object(after.body), "rooms");
    if (
      JSON.stringify(rooms) ===
        JSON.stringify([{ room: "lobby", members: 1, localConnections: 2 }])
    ) break;
    assert.ok(Date.now() < deadline, `rooms still ${JSON.stringify(rooms)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

/** A stream body (sent chunked, without Content-Length) in `size`-byte pieces. */
function chunked(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}
