import assert from "node:assert/strict";
import { parseSseReply } from "./sse_wire.ts";

const REPLY = {
  to: "n1",
  id: 7,
  status: 200,
  code: "ok",
  message: "",
  applied: 2,
};

Deno.test("parseSseReply keeps the holder's bucket when it reports one, and reads replies without it", () => {
  assert.deepEqual(parseSseReply({ ...REPLY, tokens: 12.5 }), {
    ...REPLY,
    tokens: 12.5,
  });
  assert.deepEqual(parseSseReply(REPLY), REPLY);
});

Deno.test("parseSseReply refuses a bucket that is not a finite number ≥ 0", () => {
  for (const tokens of [-1, "3", null, Number.POSITIVE_INFINITY]) {
    assert.equal(parseSseReply({ ...REPLY, tokens }), "bad sse-reply event");
  }
});
