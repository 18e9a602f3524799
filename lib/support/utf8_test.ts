import assert from "node:assert/strict";
import { exceedsUtf8Bytes } from "./utf8.ts";

Deno.test("exceedsUtf8Bytes() counts multibyte characters at the boundary", () => {
  assert.equal(exceedsUtf8Bytes("a".repeat(10), 10), false);
  assert.equal(exceedsUtf8Bytes("a".repeat(11), 10), true);
  assert.equal(exceedsUtf8Bytes("é".repeat(5), 10), false); // 2 bytes each
  assert.equal(exceedsUtf8Bytes("é".repeat(5) + "a", 10), true);
  assert.equal(exceedsUtf8Bytes("€".repeat(3), 9), false); // 3 bytes each
  assert.equal(exceedsUtf8Bytes("😀".repeat(2), 8), false); // 4 bytes each
  assert.equal(exceedsUtf8Bytes("😀".repeat(2) + "a", 8), true);
});
