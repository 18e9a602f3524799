/** Open-socket tracking: held sockets, per-IP counts and the drain wait. */
import assert from "node:assert/strict";
import { OpenSockets } from "./_open_sockets.ts";

Deno.test("OpenSockets.hold() counts a socket until release(), which may come twice", async () => {
  const sockets = new OpenSockets();
  const a = {};
  const b = {};
  sockets.hold(a, "10.0.0.1");
  sockets.hold(b, "10.0.0.1");
  assert.equal(sockets.size, 2);
  assert.equal(sockets.countFrom("10.0.0.1"), 2);
  const drained = sockets.drained(60_000);
  sockets.release(a);
  sockets.release(a); // `close` can fire twice: counted once
  assert.equal(sockets.size, 1);
  assert.equal(sockets.countFrom("10.0.0.1"), 1);
  sockets.release(b);
  assert.equal(sockets.countFrom("10.0.0.1"), 0);
  assert.equal(await drained, true);
});
