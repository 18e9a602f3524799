import assert from "node:assert/strict";
import { Emitter } from "./_emitter.ts";

interface Events {
  count: number;
  name: string;
}

Deno.test("Emitter.on() delivers in order and unsubscribes one registration", () => {
  const emitter = new Emitter<Events>();
  const seen: string[] = [];
  const handler = (n: number) => seen.push(`a${n}`);
  const offFirst = emitter.on("count", handler);
  emitter.on("count", handler);
  emitter.on("name", (name) => seen.push(name));
  emitter.emit("count", 1);
  offFirst();
  offFirst();
  emitter.emit("count", 2);
  emitter.emit("name", "x");
  assert.deepEqual(seen, ["a1", "a1", "a2", "x"]);
});

Deno.test("Emitter.emit() keeps going when a handler throws and reports the error", async () => {
  const emitter = new Emitter<Events>();
  const reported: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    reported.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    const seen: number[] = [];
    emitter.on("count", () => {
      throw new Error("Handler failed");
    });
    emitter.on("count", (n) => seen.push(n));
    emitter.emit("count", 7);
    assert.deepEqual(seen, [7]);
    await Promise.resolve();
  } finally {
    globalThis.removeEventListener("error", onError);
  }
  assert.equal(reported.length, 1);
  assert.match(String(reported[0]), /Handler failed/);
});
