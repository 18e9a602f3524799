import assert from "node:assert/strict";
import { createBus } from "../bus/bus.ts";
import { MemoryNetwork } from "../bus/memory.ts";
import { Metrics } from "../support/metrics.ts";
import { RoomTap } from "./room_tap.ts";

const decoder = new TextDecoder();

Deno.test("RoomTap: notes published and received messages, bounded in rooms, with messages/s", async () => {
  let now = 0;
  const metrics = new Metrics();
  const tap = new RoomTap({
    maxRooms: 2,
    maxTails: 1,
    payloads: true,
    metrics,
    now: () => now,
  });
  const net = new MemoryNetwork();
  const inner = createBus(net.connect());
  const other = createBus(net.connect());
  const bus = tap.wrap(inner);
  bus.publish({
    kind: "message",
    room: "a",
    offset: 1,
    epoch: "e",
    frame: "{}",
  });
  // The isolate hears room b's topic once a member there joined it.
  await bus.join("b");
  const received = new Promise((resolve) => inner.subscribe(resolve));
  other.publish({
    kind: "message",
    room: "b",
    offset: 7,
    epoch: "e",
    frame: "{}",
  });
  await received;
  assert.equal(tap.activity("a")?.offset, 1);
  assert.equal(tap.activity("b")?.offset, 7);
  now = 2_000;
  tap.note("b", 8, "e", "{}");
  tap.sample();
  assert.equal(tap.activity("b")?.perS, 1); // 2 messages in 2 s
  tap.note("c", 1, "e", "{}"); // a is the least recently active
  assert.equal(tap.activity("a"), undefined);
  assert.deepEqual([...tap.rooms()], ["b", "c"]);
  assert.equal(metrics.get("admin_dropped_total", "rooms"), 1);
  await inner.close();
  await other.close();
});

Deno.test("RoomTap: tails are bounded in count, get sizes always and payloads only when allowed, and end on close", () => {
  for (const payloads of [true, false]) {
    const metrics = new Metrics();
    const tap = new RoomTap({ maxRooms: 10, maxTails: 1, payloads, metrics });
    const lines: string[] = [];
    let ended = false;
    const stop = tap.tail("r", (line) => {
      lines.push(decoder.decode(line));
      return lines.length < 2; // the second line "does not fit"
    }, () => ended = true);
    assert.ok(stop !== undefined);
    assert.equal(tap.tail("r", () => true), undefined);
    tap.note("r", 1, "e", '{"data":"é"}');
    tap.note("other", 1, "e", "{}");
    tap.note("r", 2, "e", "{}");
    assert.equal(lines.length, 2);
    const first = JSON.parse(lines[0]!.slice("data: ".length));
    assert.equal(first.bytes, 13);
    assert.equal(first.frame, payloads ? '{"data":"é"}' : undefined);
    assert.equal(metrics.get("admin_dropped_total", "tail"), 1);
    tap.close();
    assert.equal(ended, true);
    stop();
    assert.equal(tap.tails, 0);
  }
});
