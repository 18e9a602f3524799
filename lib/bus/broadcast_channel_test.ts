import assert from "node:assert/strict";
import { broadcastChannelTransport } from "./broadcast_channel.ts";
import { type BusEvent, createBus } from "./bus.ts";

Deno.test("broadcastChannelTransport() links two buses on one channel name", async () => {
  const name = `test-${crypto.randomUUID()}`;
  const a = createBus(broadcastChannelTransport(name));
  const b = createBus(broadcastChannelTransport(name));
  await b.join("r");
  const got: number[] = [];
  const done = new Promise<void>((resolve) =>
    b.subscribe((e: BusEvent) => {
      got.push(offsetOf(e));
      if (got.length === 300) resolve();
    })
  );
  for (let i = 1; i <= 300; i++) {
    a.publish({
      kind: "message",
      room: "r",
      offset: i,
      epoch: "e",
      frame: "{}",
    });
  }
  await done;
  assert.deepEqual(got, [...Array(300)].map((_, i) => i + 1));
  assert.equal(b.stats().gaps, 0);
  // A room without a member here is dropped on its topic, never decoded.
  const unwanted = b.stats().postsUnwanted;
  a.publish({ kind: "message", room: "x", offset: 1, epoch: "e", frame: "{}" });
  while (b.stats().postsUnwanted === unwanted) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.equal(b.stats().postsReceived, 1);
  await a.close();
  await b.close();
});

function offsetOf(event: BusEvent): number {
  return event.kind === "message" ? event.offset : -1;
}
