import assert from "node:assert/strict";
import { encodeServerMessage, PROTOCOL_VERSION } from "./messages.ts";
import { welcomeEncoder, type WelcomeFixed } from "./welcome_wire.ts";

Deno.test("welcomeEncoder: the same text as encoding the whole welcome, ids escaped", () => {
  const rateLimit = { perSecond: 20, burst: 40 };
  const fixed: WelcomeFixed = {
    heartbeatMs: 25_000,
    protocol: PROTOCOL_VERSION,
    maxMessageBytes: 65_536,
    rateLimit,
  };
  const welcome = welcomeEncoder(fixed);
  for (
    const [connectionId, memberId] of [
      ["ab12cd34-1", "anon:x"],
      ['quote"and\\back', "\u2028line"],
      ["", "u"],
    ] as const
  ) {
    const text = welcome(connectionId, memberId);
    assert.equal(
      text,
      encodeServerMessage({
        type: "welcome",
        connectionId,
        heartbeatMs: fixed.heartbeatMs,
        protocol: fixed.protocol,
        memberId,
        maxMessageBytes: 65_536,
        rateLimit,
      }),
    );
    assert.deepEqual(JSON.parse(text).connectionId, connectionId);
  }
});
