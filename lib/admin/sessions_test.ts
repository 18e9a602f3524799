import assert from "node:assert/strict";
import { randomToken, sameText, SessionStore } from "./sessions.ts";

Deno.test("SessionStore: sessions expire, are bounded in count (oldest ends first) and report their size", () => {
  let now = 1_000;
  const sizes: number[] = [];
  const store = new SessionStore({
    maxSessions: 2,
    ttlMs: 100,
    now: () => now,
    onSize: (n) => sizes.push(n),
  });
  const a = store.create();
  const b = store.create();
  const c = store.create();
  assert.equal(store.size, 2);
  assert.equal(store.get(a.id), undefined);
  assert.equal(store.get(b.id), b);
  assert.notEqual(b.csrf, b.id);
  now += 100;
  assert.equal(store.get(c.id), undefined); // expired
  store.sweep();
  assert.equal(store.size, 0);
  assert.deepEqual(sizes.slice(0, 3), [1, 2, 2]);
  assert.equal(sizes.at(-1), 0);
  assert.equal(store.get(undefined), undefined);
  assert.equal(store.get("x".repeat(1_000)), undefined);
});

Deno.test("randomToken() is 32 random bytes in base64url; sameText() compares whole strings", () => {
  const a = randomToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, randomToken());
  assert.equal(sameText(a, a), true);
  assert.equal(sameText(a, a.slice(0, -1)), false);
  assert.equal(sameText(a, ""), false);
  assert.equal(sameText("", ""), true);
  assert.equal(sameText("abc", "abd"), false);
});
