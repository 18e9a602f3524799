/**
 * Tokens that expire far away (issue #10, item 1): a delay past setTimeout's
 * 2³¹−1 ms used to fire the expiry timer at once, closing every connection
 * of a 30-day token with 4401 right after `welcome`.
 */
import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import { startTestServer } from "../_support/harness.ts";
import { OPCODE, RawWebSocket } from "../_support/raw_ws.ts";

const SECRET = "long-token-test-secret-0123456789";

Deno.test("auth: a connection with a token valid for 30 days stays open and usable", async () => {
  // IDLE_TIMEOUT_S=2: the server pings after 1 s, an event that proves the
  // connection outlived the old expiry timer (which fired within ms).
  await using server = await startTestServer({
    env: { AUTH_SECRET: SECRET, ALLOW_ANONYMOUS: "0", IDLE_TIMEOUT_S: "2" },
  });
  const exp = Math.floor(Date.now() / 1000) + 30 * 86_400;
  const jwt = await signHs256({ sub: "ann", exp }, SECRET);
  await using ws = await RawWebSocket.open(server.addr.port, {
    headers: { "sec-websocket-protocol": `roomcast.v1, roomcast.token.${jwt}` },
  });
  const welcome: unknown = JSON.parse(await ws.nextText());
  assert.equal(Reflect.get(Object(welcome), "memberId"), "ann");
  // The next frame must be the server's idle ping, not a 4401 close.
  const frame = await ws.next(5_000);
  assert.ok(typeof frame !== "string", `connection ended: ${frame}`);
  assert.equal(frame.opcode, OPCODE.PING, `opcode ${frame.opcode}`);
  await ws.send({ opcode: OPCODE.PONG, payload: frame.payload });
  await ws.sendText(JSON.stringify({ type: "ping", id: "after 1 s" }));
  const pong: unknown = JSON.parse(await ws.nextText());
  assert.equal(Reflect.get(Object(pong), "type"), "pong");
  assert.equal(Reflect.get(Object(pong), "id"), "after 1 s");
  assert.equal(server.metrics.get("token_expiries_total"), 0);
  assert.equal(server.hub.stats().connections, 1);
});
