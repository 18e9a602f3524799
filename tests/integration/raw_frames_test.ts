/**
 * Raw frames and handshakes a browser cannot send (reliability.md §5, groups
 * A and B): reserved bits and opcodes, invalid UTF-8, bad close frames,
 * oversized frames and messages, lying length headers, unmasked frames and
 * abusive handshakes. Each case states the outcomes it accepts ("dropped"
 * is a TCP close without a close frame: 1006 to a browser, which RFC 6455
 * §7.1.7 allows), and after each one a well-behaved member of a room on the
 * same server must still receive a broadcast.
 */
import assert from "node:assert/strict";
import { type Bystander, withBystander } from "../_support/bystander.ts";
import {
  report,
  startTestServer,
  type TestServer,
} from "../_support/harness.ts";
import {
  closePayload,
  describeEnding,
  type FrameOptions,
  OPCODE,
  rawRequest,
  RawWebSocket,
  upgradeRequest,
} from "../_support/raw_ws.ts";

const LIMIT = 65_536;
const PROTOCOL_ERROR = ["dropped", "close 1002"];

/** One raw-frame case: what to do on an open connection, and what may happen. */
interface FrameCase {
  name: string;
  /** Acceptable outcomes, as {@linkcode describeEnding} spells them or as `run` returns them. */
  expect: string[];
  /** Sends the frames and returns the outcome. @default {send `frames`, then wait for the ending} */
  run?: (ws: RawWebSocket) => Promise<string>;
  frames?: FrameOptions[];
  /** The outcome must come within this many ms. @default {2000} */
  withinMs?: number;
}

/** Runs every case on its own connection, checking the bystander after each. */
async function runFrameCases(
  server: TestServer,
  room: Bystander,
  group: string,
  cases: FrameCase[],
): Promise<void> {
  const outcomes: Array<[string, string]> = [];
  for (const c of cases) {
    const ws = await RawWebSocket.open(server.addr.port);
    assert.equal(JSON.parse(await ws.nextText()).type, "welcome");
    const started = performance.now();
    let outcome: string;
    if (c.run !== undefined) {
      outcome = await c.run(ws);
    } else {
      for (const frame of c.frames ?? []) await ws.send(frame);
      outcome = describeEnding(await ws.ending(5_000));
    }
    const ms = Math.round(performance.now() - started);
    await ws.close();
    assert.ok(
      c.expect.includes(outcome),
      `${group} ${c.name}: got "${outcome}", expected ${c.expect.join(" or ")}`,
    );
    assert.ok(ms <= (c.withinMs ?? 2_000), `${group} ${c.name}: took ${ms} ms`);
    await room.stillReceives();
    outcomes.push([c.name, outcome]);
  }
  await assertAlive(server);
  summarize(group, outcomes);
}

/** The server still answers HTTP (a crash would also have failed the bystander). */
async function assertAlive(server: TestServer): Promise<void> {
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
}

/** One handshake case: raw request bytes and the statuses accepted. */
interface HandshakeCase {
  name: string;
  request: string | Uint8Array;
  /** Acceptable answers: an HTTP status, or "dropped". */
  expect: Array<number | "dropped">;
  /** Why a non-4xx answer is tolerated (documented deviation). */
  deviation?: string;
}

/** Prints one line per group: cases, outcomes tallied, crashes, then each case. */
function summarize(group: string, outcomes: Array<[string, string]>): void {
  const tally = new Map<string, number>();
  for (const [, outcome] of outcomes) {
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  }
  report(
    `raw ${group}: ${outcomes.length} cases tried; outcomes ${
      [...tally].map(([o, n]) => `${o} ×${n}`).join(", ")
    }; crashes 0 (bystander served after each, healthz 200) | ${
      outcomes.map(([c, o]) => `${c} → ${o}`).join("; ")
    }`,
  );
}

/** Sends a ping and returns "pong <n> bytes" if the echo matches, else what came. */
async function pingOutcome(ws: RawWebSocket, size: number): Promise<string> {
  const payload = crypto.getRandomValues(new Uint8Array(size));
  await ws.send({ opcode: OPCODE.PING, payload });
  const frame = await ws.next();
  if (typeof frame === "string") return frame;
  const same = frame.opcode === OPCODE.PONG &&
    frame.payload.length === size &&
    frame.payload.every((b, i) => b === payload[i]);
  return same ? `pong ${size} bytes` : `opcode ${frame.opcode}`;
}

/** After a case that keeps the connection, prove it is still usable. */
async function stillUsable(ws: RawWebSocket, outcome: string): Promise<string> {
  await ws.sendText('{"type":"ping","id":"still"}');
  const reply = JSON.parse(await ws.nextText());
  return reply.type === "pong" && reply.id === "still"
    ? outcome
    : `${outcome}, then ${reply.type}`;
}

Deno.test("raw frames: protocol violations end only their own connection", async () => {
  await using server = await startTestServer({
    env: { MAX_MESSAGE_BYTES: String(LIMIT) },
  });
  await using room = await withBystander(server);
  const text = (
    payload: string | Uint8Array,
    more: Partial<FrameOptions> = {},
  ) => ({
    opcode: OPCODE.TEXT,
    payload,
    ...more,
  });

  // A2: control frame sizes.
  await runFrameCases(server, room, "A2 pings", [
    {
      name: "ping 0 B",
      expect: ["pong 0 bytes"],
      run: async (ws) => stillUsable(ws, await pingOutcome(ws, 0)),
    },
    {
      name: "ping 125 B",
      expect: ["pong 125 bytes"],
      run: async (ws) => stillUsable(ws, await pingOutcome(ws, 125)),
    },
    {
      name: "ping 126 B",
      expect: PROTOCOL_ERROR,
      frames: [{ opcode: OPCODE.PING, payload: new Uint8Array(126) }],
    },
    {
      name: "ping between fragments",
      expect: ["pong, then the message"],
      run: async (ws) => {
        await ws.send(text('{"type":', { fin: false }));
        await ws.send({ opcode: OPCODE.PING, payload: "p" });
        const pong = await ws.next();
        await ws.send({
          opcode: OPCODE.CONTINUATION,
          payload: '"ping","id":"frag"}',
        });
        const reply = JSON.parse(await ws.nextText());
        return typeof pong !== "string" && pong.opcode === OPCODE.PONG &&
            reply.type === "pong" && reply.id === "frag"
          ? "pong, then the message"
          : "wrong";
      },
    },
  ]);

  // A3: reserved bits and opcodes, broken fragmentation.
  await runFrameCases(server, room, "A3 reserved", [
    ...([[4, "RSV1"], [2, "RSV2"], [1, "RSV3"]] as const).map((
      [rsv, name],
    ) => ({
      name,
      expect: PROTOCOL_ERROR,
      frames: [text('{"type":"ping"}', { rsv })],
    })),
    ...[3, 7, 0xb, 0xf].map((opcode) => ({
      name: `opcode 0x${opcode.toString(16).toUpperCase()}`,
      expect: PROTOCOL_ERROR,
      frames: [{ opcode, payload: "x" }],
    })),
    {
      name: "orphan continuation",
      expect: PROTOCOL_ERROR,
      frames: [{ opcode: OPCODE.CONTINUATION, payload: "x" }],
    },
    {
      name: "text frame inside a fragmented message",
      expect: PROTOCOL_ERROR,
      frames: [text("ab", { fin: false }), text("cd")],
    },
    {
      name: "fragmented ping",
      expect: PROTOCOL_ERROR,
      frames: [{ opcode: OPCODE.PING, payload: "p", fin: false }],
    },
  ]);

  // A4: invalid UTF-8 (the runtime fails the connection: 1006 to a browser).
  await runFrameCases(server, room, "A4 UTF-8", [
    {
      name: "invalid UTF-8 text frame",
      expect: ["dropped", "close 1007"],
      frames: [text(new Uint8Array([0x7b, 0xc3, 0x28, 0xff, 0x7d]))],
    },
    {
      name: "invalid UTF-8 across fragments",
      expect: ["dropped", "close 1007"],
      frames: [
        text(new Uint8Array([0xce]), { fin: false }),
        { opcode: OPCODE.CONTINUATION, payload: new Uint8Array([0xff]) },
      ],
    },
    {
      name: "invalid UTF-8 in the close reason",
      expect: ["dropped", "close 1007", "close 1002"],
      frames: [{
        opcode: OPCODE.CLOSE,
        payload: new Uint8Array([0x03, 0xe8, 0xff, 0xfe]),
      }],
    },
  ]);

  // A5: close frames (Autobahn 7.7 valid codes are echoed, 7.9 invalid ones fail).
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011];
  const invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
  await runFrameCases(server, room, "A5 close", [
    ...[...valid, 3000, 3999, 4000, 4999].map((code) => ({
      name: `close ${code}`,
      expect: [`close ${code}`],
      frames: [{ opcode: OPCODE.CLOSE, payload: closePayload(code, "bye") }],
    })),
    ...invalid.map((code) => ({
      name: `close ${code}`,
      expect: ["close 1002", "dropped"],
      frames: [{ opcode: OPCODE.CLOSE, payload: closePayload(code) }],
    })),
    {
      name: "close with 1-byte payload",
      expect: ["close 1002", "dropped"],
      frames: [{ opcode: OPCODE.CLOSE, payload: new Uint8Array([0x03]) }],
    },
    {
      name: "close without payload",
      // Echoed empty, which reads as 1005 (no status).
      expect: ["close 1005", "close 1000"],
      frames: [{ opcode: OPCODE.CLOSE }],
    },
    {
      name: "close with a 123-byte reason",
      expect: ["close 1000"],
      frames: [{
        opcode: OPCODE.CLOSE,
        payload: closePayload(1000, "r".repeat(123)),
      }],
    },
  ]);

  // A6: masking. RFC 6455 §5.1 says the server MUST fail the connection on an
  // unmasked client frame; Deno 2.9.6 accepts it. Documented deviation: the
  // mask protects intermediaries, not the server, so nothing relies on it.
  await runFrameCases(server, room, "A6 masking", [
    {
      name: "unmasked text frame",
      expect: ["accepted (answered)"],
      run: async (ws) => {
        await ws.send(text('{"type":"ping","id":"bare"}', { mask: false }));
        const reply = JSON.parse(await ws.nextText());
        return reply.type === "pong" && reply.id === "bare"
          ? "accepted (answered)"
          : "wrong";
      },
    },
    {
      name: "binary frame",
      expect: ["close 1003"],
      frames: [{ opcode: OPCODE.BINARY, payload: "{}" }],
    },
  ]);
});

Deno.test("raw frames: size limits and lying headers", async () => {
  await using server = await startTestServer({
    env: { MAX_MESSAGE_BYTES: String(LIMIT) },
  });
  await using room = await withBystander(server);
  const big = (n: number) => new Uint8Array(n).fill(0x61);
  await runFrameCases(server, room, "B1/B2/B5 sizes", [
    {
      name: "2 MiB frame (limit 64 KiB)",
      expect: ["close 1009"],
      frames: [{ opcode: OPCODE.TEXT, payload: big(2 * 1024 * 1024) }],
      withinMs: 5_000,
    },
    {
      name: "3 × 32 KiB fragments (limit 64 KiB)",
      expect: ["close 1009"],
      frames: [
        { opcode: OPCODE.TEXT, payload: big(32 * 1024), fin: false },
        { opcode: OPCODE.CONTINUATION, payload: big(32 * 1024), fin: false },
        { opcode: OPCODE.CONTINUATION, payload: big(32 * 1024) },
      ],
    },
    {
      name: "header announcing 65 MiB, then nothing",
      expect: ["dropped"],
      frames: [{ opcode: OPCODE.TEXT, announcedLength: 65 * 1024 * 1024 }],
      withinMs: 1_000,
    },
    {
      name: "header announcing 2^63-1 bytes",
      expect: ["dropped", "close 1002", "close 1009"],
      frames: [{
        opcode: OPCODE.TEXT,
        announcedLength: Number.MAX_SAFE_INTEGER,
      }],
      withinMs: 1_000,
    },
  ]);
});

Deno.test("raw handshakes: abusive upgrade requests are answered quickly and change nothing", async () => {
  await using server = await startTestServer();
  await using room = await withBystander(server);
  const port = server.addr.port;
  const up = (headers: Record<string, string | null>, method = "GET") =>
    upgradeRequest(port, "/ws", headers, method);
  const nonAscii = new TextEncoder().encode(
    up({ "sec-websocket-protocol": "roomcast.v1, PROTO" }),
  );
  // Replace "PROTO" with bytes 0x80-0xFF.
  const at = new TextDecoder().decode(nonAscii).indexOf("PROTO");
  nonAscii.set([0x80, 0xc3, 0xa9, 0xfe, 0xff], at);

  const cases: HandshakeCase[] = [
    {
      name: "no Sec-WebSocket-Key",
      request: up({ "sec-websocket-key": null }),
      expect: [400],
    },
    {
      name: "no Upgrade header",
      request: up({ upgrade: null }),
      expect: [426],
    },
    {
      name: "no Connection: Upgrade",
      request: up({ connection: null }),
      expect: [400],
    },
    { name: "POST", request: up({}, "POST"), expect: [404, 405] },
    {
      name: "200 headers",
      request: up(
        Object.fromEntries(
          Array.from({ length: 200 }, (_, i) => [`x-filler-${i}`, "v"]),
        ),
      ),
      expect: [400, 431],
    },
    {
      name: "64 KiB Sec-WebSocket-Protocol of spaces and commas",
      request: up({ "sec-websocket-protocol": " ,".repeat(32 * 1024) }),
      expect: [400, 431],
    },
    {
      // Small enough to reach the route's own parsing (the 64 KiB one is
      // refused by the HTTP layer first): it must stay linear and echo nothing.
      name: "32 KiB Sec-WebSocket-Protocol of spaces and commas",
      request: up({ "sec-websocket-protocol": " ,".repeat(16 * 1024) }),
      expect: [400],
    },
    {
      name: "non-ASCII bytes in Sec-WebSocket-Protocol",
      request: nonAscii,
      expect: [400],
    },
    {
      name: "Sec-WebSocket-Version 8",
      request: up({ "sec-websocket-version": "8" }),
      expect: [426],
    },
    {
      name: "Sec-WebSocket-Key not 16 base64 bytes",
      request: up({ "sec-websocket-key": "abc" }),
      expect: [400],
    },
  ];
  const outcomes: Array<[string, string]> = [];
  const deviations: string[] = [];
  let slowest = 0;
  for (const c of cases) {
    const answer = await rawRequest(port, c.request, 2_000);
    const got = answer.kind === "response" ? answer.status : answer.kind;
    assert.ok(
      c.expect.some((e) => e === got),
      `${c.name}: got ${got}, expected ${c.expect.join(" or ")}`,
    );
    // Quick: no parsing that grows worse than linearly (CVE-2021-32640).
    assert.ok(answer.ms < 1_000, `${c.name}: took ${answer.ms} ms`);
    if (answer.kind === "response" && answer.status === 101) {
      const protocol = answer.headers.get("sec-websocket-protocol");
      assert.ok(protocol === null || protocol === "roomcast.v1", c.name);
      deviations.push(`${c.name} (${c.deviation ?? "undocumented"})`);
    }
    await room.stillReceives();
    outcomes.push([c.name, String(got)]);
    slowest = Math.max(slowest, answer.ms);
  }
  await assertAlive(server);
  summarize("A7/B12 handshakes", outcomes);
  report(`raw A7/B12 handshakes: slowest answer ${slowest} ms`);
  if (deviations.length > 0) {
    report(`raw A7/B12 upgraded instead of refused: ${deviations.join("; ")}`);
  }

  // A9: permessage-deflate is offered, never negotiated.
  await using deflate = await RawWebSocket.open(port, {
    headers: {
      "sec-websocket-extensions":
        "permessage-deflate; client_max_window_bits, x-webkit-deflate-frame",
    },
  });
  assert.equal(deflate.response.headers.get("sec-websocket-extensions"), null);
  const welcome = await deflate.next();
  assert.ok(typeof welcome !== "string" && welcome.rsv === 0);
  await room.stillReceives();
  summarize("A9 compression", [
    ["permessage-deflate offered", "101 without extensions"],
  ]);
});
