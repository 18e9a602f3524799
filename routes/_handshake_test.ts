/** The subprotocol list and handshake checks. */
import assert from "node:assert/strict";
import { checkHandshake, offeredProtocols } from "./_handshake.ts";

function headers(...protocolLines: string[]): Headers {
  const h = new Headers({
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  });
  for (const line of protocolLines) h.append("sec-websocket-protocol", line);
  return h;
}

Deno.test("offeredProtocols() reads every RFC 7230 list form alike", () => {
  const expected = ["roomcast.v1", "roomcast.token.x"];
  for (
    const lines of [
      ["roomcast.v1, roomcast.token.x"],
      ["roomcast.v1,roomcast.token.x"],
      ["roomcast.v1 ,roomcast.token.x"],
      ["roomcast.v1\t,\troomcast.token.x"],
      [" ,roomcast.v1,, roomcast.token.x ,"],
      ["roomcast.v1", "roomcast.token.x"],
    ]
  ) {
    assert.deepEqual(offeredProtocols(headers(...lines)), expected, lines[0]);
  }
  assert.deepEqual(offeredProtocols(headers()), []);
  assert.deepEqual(offeredProtocols(headers(" , ")), []);
});

Deno.test("checkHandshake() accepts tabs in the list (RFC 7230 OWS) but no other control character", () => {
  assert.equal(checkHandshake(headers("a,\tb")), undefined);
  assert.equal(checkHandshake(headers("a,\x01b"))?.status, 400);
  assert.equal(checkHandshake(headers("x".repeat(4097)))?.status, 400);
});
