/**
 * Envelope fuzzing (reliability.md B13): thousands of seeded, hostile
 * frames through the parser and the hub. Nothing may throw past the edge,
 * every answer is an `error` frame or a close with a documented code, and no
 * prototype is polluted. The seed is printed so a failure can be replayed.
 */
import assert from "node:assert/strict";
import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { createBus } from "../bus/bus.ts";
import { MemoryNetwork } from "../bus/memory.ts";
import { MemoryLog } from "../room_log/memory.ts";
import { Hub } from "./hub.ts";
import { silentLogger } from "../support/log.ts";
import { Metrics } from "../support/metrics.ts";
import { parseClientMessage, ProtocolError } from "../protocol/mod.ts";

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_STRINGS = [
  "",
  "lobby",
  "__proto__",
  "constructor",
  "../../etc/passwd",
  "a/b",
  "a*",
  "\u0000",
  "\u202eevil",
  "x".repeat(10_000),
  "😀",
  "\ud800",
  "join",
  "publish",
];

function value(random: () => number, depth: number): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return [0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, Number.MAX_SAFE_INTEGER][
        Math.floor(random() * 7)
      ];
    case 3:
    case 4:
      return NASTY_STRINGS[Math.floor(random() * NASTY_STRINGS.length)];
    case 5:
      return "s" + Math.floor(random() * 1000);
    case 6:
      return Array.from(
        { length: Math.floor(random() * 4) },
        () => value(random, depth + 1),
      );
    default: {
      const object: Record<string, unknown> = {};
      const keys = [
        "type",
        "room",
        "data",
        "id",
        "echo",
        "since",
        "meta",
        "presence",
        "offset",
        "epoch",
        "__proto__",
      ];
      for (let i = Math.floor(random() * 5); i > 0; i--) {
        const key = keys[Math.floor(random() * keys.length)]!;
        Object.defineProperty(object, key, {
          value: value(random, depth + 1),
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }
      return object;
    }
  }
}

/** A frame: mostly envelopes with a plausible type, sometimes raw garbage. */
function frame(random: () => number): string {
  const roll = random();
  if (roll < 0.05) return "{".repeat(Math.floor(random() * 50));
  if (roll < 0.1) return "[".repeat(5_000) + "]".repeat(5_000);
  const envelope = value(random, 0);
  if (
    envelope !== null && typeof envelope === "object" &&
    !Array.isArray(envelope) && random() < 0.7
  ) {
    Reflect.set(
      envelope,
      "type",
      ["join", "leave", "publish", "ping", "zap", 7][Math.floor(random() * 6)],
    );
  }
  return JSON.stringify(envelope) ?? "undefined";
}

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261121);
const CASES = 10_000;

Deno.test(`parseClientMessage() fuzz: ${CASES} seeded frames throw only ProtocolError (seed ${SEED})`, () => {
  const random = rng(SEED);
  let accepted = 0;
  for (let i = 0; i < CASES; i++) {
    const text = frame(random);
    try {
      parseClientMessage(text);
      accepted += 1;
    } catch (error) {
      assert.ok(error instanceof ProtocolError, `case ${i}: ${String(error)}`);
    }
  }
  assert.equal(Reflect.get({}, "polluted"), undefined);
  assert.ok(accepted > 0 && accepted < CASES, `accepted ${accepted}`);
});

Deno.test(`Hub fuzz: ${CASES} seeded frames get error frames or documented closes, never a throw (seed ${SEED})`, async () => {
  const random = rng(SEED + 1);
  const metrics = new Metrics();
  const bus = createBus(new MemoryNetwork().connect());
  const hub = new Hub({
    bus,
    history: new MemoryLog({ maxMessages: 100, ttlMs: 60_000 }),
    metrics,
    log: silentLogger,
    limits: {
      maxMessageBytes: 4_096,
      maxBufferedBytes: 1 << 30,
      heartbeatMs: 1_000,
      repairDelayMs: 5,
      presenceIntervalMs: 60_000,
      presenceTimeoutMs: 120_000,
      rateLimitPerS: 1e9,
      rateLimitBurst: 1e9,
      rateLimitStrikes: 10,
      maxRoomsPerConnection: 16,
      coalesceMs: 0,
    },
  });
  const closes = new Map<number, number>();
  let socket = new FakeSocket();
  let connection = hub.connect(socket);
  for (let i = 0; i < CASES; i++) {
    hub.receive(connection, frame(random));
    if (socket.closedWith !== undefined) {
      const { code } = socket.closedWith;
      closes.set(code, (closes.get(code) ?? 0) + 1);
      socket = new FakeSocket();
      connection = hub.connect(socket);
    }
  }
  for (const code of closes.keys()) {
    assert.ok([1009].includes(code), `close ${code}`);
  }
  const errors = metrics.total("protocol_errors_total");
  assert.ok(errors > CASES / 2, `only ${errors} error frames`);
  assert.equal(Reflect.get({}, "polluted"), undefined);
  hub.shutdown();
  await bus.close();
});
