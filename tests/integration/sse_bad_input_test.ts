/**
 * Bad input on the SSE fallback transport: unknown and stolen session ids,
 * two POSTs at once, oversize bodies, missing auth, foreign Origin, a slow
 * consumer. Each is refused with a clear status and code while a bystander
 * on WebSocket and one on SSE keep receiving.
 */

import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import { startTestServer, type TestServer } from "../_support/harness.ts";
import { withBystander } from "../_support/bystander.ts";
import { SseClient } from "../_support/sse.ts";

const SECRET = "a-test-secret-of-32-characters!!";
const exp = () => Math.floor(Date.now() / 1000) + 600;

/** An SSE member of `room` that must keep receiving what `probe()` publishes. */
async function sseBystander(
  server: TestServer,
  token: string,
  room = "bystanders",
) {
  const client = await SseClient.session(`${server.url}/sse`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const auth = { headers: { authorization: `Bearer ${token}` } };
  await client.post({ type: "join", room }, auth);
  await client.next("joined", { skip: true });
  let n = 0;
  return {
    client,
    async stillReceives(): Promise<void> {
      n += 1;
      const res = await client.post(
        { type: "publish", room, data: `sse probe ${n}` },
        auth,
      );
      assert.equal(res.status, 200);
      while (
        (await client.next("message", { skip: true })).data !== `sse probe ${n}`
      ) {
        // skip the WebSocket bystander's probes
      }
    },
  };
}

async function expectError(res: Response, status: number, code: string) {
  assert.equal(res.status, status, `expected ${status} ${code}`);
  assert.equal((await res.json()).error.code, code);
}

Deno.test("SSE bad input: each is refused clearly, bystanders on both transports unaffected", async () => {
  await using server = await startTestServer({
    env: {
      AUTH_SECRET: SECRET,
      ALLOW_ANONYMOUS: "0",
      MAX_MESSAGE_BYTES: "1024",
      SSE_HEARTBEAT_MS: "60000",
    },
  });
  const ann = await signHs256({ sub: "ann", exp: exp() }, SECRET);
  const eve = await signHs256({ sub: "eve", exp: exp() }, SECRET);
  const bob = await signHs256({ sub: "bob", exp: exp() }, SECRET);
  await using bystander = await withBystander({
    wsUrl: `${server.wsUrl}?token=${bob}`,
  });
  const sse = await sseBystander(server, ann);
  await using _sse = sse.client;
  const check = async () => {
    await bystander.stillReceives();
    await sse.stillReceives();
  };
  const base = `${server.url}/sse`;
  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetch(`${base}/${path}`, { method: "POST", body, headers });

  // Missing auth: the stream, the feed and a POST.
  await expectError(await fetch(base), 401, "unauthorized");
  await expectError(await fetch(`${base}/rooms?room=a`), 401, "unauthorized");
  await expectError(
    await post(sse.client.session, "{}", {}),
    401,
    "unauthorized",
  );
  await expectError(
    await fetch(base, { headers: { authorization: "Bearer nope" } }),
    401,
    "unauthorized",
  );
  await check();

  // Unknown session ids: malformed, and well-formed but never issued.
  const auth = { authorization: `Bearer ${ann}` };
  await expectError(
    await post("nope", '{"type":"ping"}', auth),
    404,
    "unknown_session",
  );
  const forged = sse.client.session.replace(
    /\.[^.]+$/,
    ".AAAAAAAAAAAAAAAAAAAAAA",
  );
  await expectError(
    await post(forged, '{"type":"ping"}', auth),
    404,
    "unknown_session",
  );
  await check();

  // A stolen session id: another principal's token.
  await expectError(
    await post(
      sse.client.session,
      JSON.stringify({ type: "publish", room: "bystanders", data: "evil" }),
      {
        authorization: `Bearer ${eve}`,
      },
    ),
    403,
    "forbidden_session",
  );
  await check();

  // Oversize bodies: by Content-Length and streamed without one.
  await expectError(
    await post(sse.client.session, "x".repeat(2000), auth),
    413,
    "too_large",
  );
  const chunks = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(512).fill(32));
      c.close();
    },
  });
  await expectError(
    await fetch(`${base}/${sse.client.session}`, {
      method: "POST",
      body: chunks,
      headers: auth,
    }),
    413,
    "too_large",
  );
  await expectError(
    await post(sse.client.session, "[1,", auth),
    400,
    "bad_json",
  );
  await check();

  // Two POSTs at once: the first holds its body open, the second gets 409.
  let finish = () => {};
  const held = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"type":"ping","id":7'));
      finish = () => {
        c.enqueue(new TextEncoder().encode("}"));
        c.close();
      };
    },
  });
  const first = fetch(`${base}/${sse.client.session}`, {
    method: "POST",
    body: held,
    headers: auth,
  });
  // The server has begun the first once the session counts a POST in flight:
  // a second POST answers 409 from then on; retry until it does.
  let second: Response;
  do {
    second = await post(sse.client.session, '{"type":"ping","id":8}', auth);
    if (second.status === 200) await sse.client.next("pong", { skip: true });
  } while (second.status === 200);
  await expectError(second, 409, "post_in_flight");
  finish();
  assert.equal((await first).status, 200);
  assert.equal((await sse.client.next("pong", { skip: true })).id, 7);
  await check();

  // Foreign Origin: the stream, the feed, a POST and the preflight; no CORS headers.
  const foreign = { origin: "https://evil.example", ...auth };
  const refused = await fetch(base, { headers: foreign });
  assert.equal(refused.headers.get("access-control-allow-origin"), null);
  await expectError(refused, 403, "forbidden_origin");
  await expectError(
    await fetch(`${base}/rooms?room=a`, { headers: foreign }),
    403,
    "forbidden_origin",
  );
  await expectError(
    await post(sse.client.session, '{"type":"ping"}', foreign),
    403,
    "forbidden_origin",
  );
  await expectError(
    await fetch(`${base}/${sse.client.session}`, {
      method: "OPTIONS",
      headers: foreign,
    }),
    403,
    "forbidden_origin",
  );
  await check();
  assert.ok(server.metrics.total("sse_refused_total") >= 14);
});

Deno.test("SSE CORS: an allowed origin gets credentials CORS and a preflight answer", async () => {
  await using server = await startTestServer({
    env: { ALLOWED_ORIGINS: "https://app.example", SSE_HEARTBEAT_MS: "60000" },
  });
  const origin = { origin: "https://app.example" };
  await using client = await SseClient.session(`${server.url}/sse`, {
    headers: origin,
  });
  assert.equal(
    client.response.headers.get("access-control-allow-origin"),
    "https://app.example",
  );
  assert.equal(
    client.response.headers.get("access-control-allow-credentials"),
    "true",
  );
  const preflight = await fetch(`${server.url}/sse/${client.session}`, {
    method: "OPTIONS",
    headers: { ...origin, "access-control-request-method": "POST" },
  });
  assert.equal(preflight.status, 204);
  assert.match(
    preflight.headers.get("access-control-allow-headers") ?? "",
    /authorization/,
  );
  const res = await client.post({ type: "ping", id: 1 }, { headers: origin });
  assert.equal(
    res.headers.get("access-control-allow-origin"),
    "https://app.example",
  );
  assert.equal((await client.next("pong", { skip: true })).id, 1);
});

Deno.test("SSE limits: rooms per connection refused with an error frame, rate past the strikes closes the stream with 4029", async () => {
  await using server = await startTestServer({
    env: {
      RATE_LIMIT_PER_S: "1",
      RATE_LIMIT_BURST: "3",
      RATE_LIMIT_STRIKES: "2",
      MAX_ROOMS_PER_CONNECTION: "1",
      MAX_BUFFERED_BYTES: "4096",
      SSE_HEARTBEAT_MS: "60000",
    },
  });
  await using bystander = await withBystander(server);
  // Rooms per connection: the second join is refused with an error frame.
  await using rooms = await SseClient.session(`${server.url}/sse`);
  await rooms.post([{ type: "join", room: "one" }, {
    type: "join",
    room: "two",
    id: 2,
  }]);
  const seen = new Map<string, unknown>();
  while (!seen.has("joined") || !seen.has("error")) {
    const frame = await rooms.take();
    seen.set(frame.type, frame.type === "error" ? frame.ref : frame);
  }
  assert.equal(seen.get("error"), 2);
  // Rate: past the burst, errors, then the stream ends with close 4029.
  await using rate = await SseClient.session(`${server.url}/sse`);
  await rate.post(
    Array.from({ length: 8 }, (_, i) => ({ type: "ping", id: i })),
  );
  const close = JSON.parse((await rate.nextNamed("close")).data);
  assert.equal(close.code, 4029);
  await rate.ended;
  await bystander.stillReceives();
});

Deno.test("SSE slow consumer: a stream nobody reads ends with close 1013, the bystander is unaffected", async () => {
  await using server = await startTestServer({
    env: { MAX_BUFFERED_BYTES: "65536", SSE_HEARTBEAT_MS: "60000" },
  });
  await using bystander = await withBystander(server);
  await using reader = await SseClient.session(`${server.url}/sse?user=r`);
  // The slow stream: its body is never read until the end.
  const slow = await fetch(`${server.url}/sse?user=slow`);
  const head = slow.body!.getReader();
  const first = new TextDecoder().decode((await head.read()).value);
  const session = /"session":"([^"]+)"/.exec(first)![1]!;
  const join = await fetch(`${server.url}/sse/${session}?user=slow`, {
    method: "POST",
    body: '{"type":"join","room":"flood"}',
  });
  assert.equal(join.status, 200);
  await reader.post({ type: "join", room: "flood" });
  await reader.next("joined", { skip: true });
  const big = "x".repeat(60_000);
  let sent = 0;
  // Flood until the server closed the slow stream (kernel buffers first).
  while (server.metrics.get("slow_consumers_total") === 0) {
    if (sent >= 5_000) throw new Error("The slow stream was never closed");
    await reader.post({
      type: "publish",
      room: "flood",
      data: big,
      echo: false,
    });
    sent += 1;
  }
  await bystander.stillReceives();
  let text = "";
  while (true) {
    const { done, value } = await head.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const last = text.trimEnd().split("\n\n").at(-1) ?? "";
  assert.match(
    last,
    /^event: close\ndata: \{"code":1013,"reason":"Slow consumer"\}$/,
  );
  assert.ok(server.hub.stats().connections >= 3);
});

Deno.test("SSE streams count as connections: per-IP cap (429) and capacity (503)", async () => {
  for (
    const [env, status, code] of [
      [{ MAX_CONNECTIONS_PER_IP: "3" }, 429, "ip_connections"],
      [{ MAX_CONNECTIONS: "3" }, 503, "capacity"],
    ] as const
  ) {
    await using server = await startTestServer({
      env: { ...env, SSE_HEARTBEAT_MS: "60000" },
    });
    await using bystander = await withBystander(server);
    await using _one = await SseClient.session(`${server.url}/sse`);
    await expectError(await fetch(`${server.url}/sse`), status, code);
    await expectError(
      await fetch(`${server.url}/sse/rooms?room=a`),
      status,
      code,
    );
    await bystander.stillReceives();
  }
});
