import assert from "node:assert/strict";
import { sameText, SessionStore } from "./sessions.ts";

Deno.test("SessionStore: a session made on one isolate is accepted by another with the same token, not with another token", async () => {
  const a = new SessionStore({ secret: "tok", maxSessions: 2, ttlMs: 1_000 });
  const b = new SessionStore({ secret: "tok", maxSessions: 2, ttlMs: 1_000 });
  const other = new SessionStore({
    secret: "else",
    maxSessions: 2,
    ttlMs: 1_000,
  });
  const session = await a.create();
  assert.match(session.cookie, /^[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}$/);
  assert.ok(!session.cookie.includes("tok"));
  assert.deepEqual(await b.get(session.cookie), session);
  assert.equal(await other.get(session.cookie), undefined);
  assert.notEqual(session.csrf, session.cookie);
});

Deno.test("SessionStore: forged, altered, expired and revoked sessions are refused", async () => {
  let now = 1_000;
  const revoked: string[] = [];
  const store = new SessionStore({
    secret: "tok",
    maxSessions: 5,
    ttlMs: 100,
    now: () => now,
    onRevoke: (id) => revoked.push(id),
  });
  const s = await store.create();
  const [id, expiry, mac] = s.cookie.split(".");
  for (
    const bad of [
      undefined,
      "",
      `${id}.${Number(expiry) + 1}.${mac}`, // a later expiry
      `${id}.${expiry}.${"A".repeat(43)}`,
      "x".repeat(500),
    ]
  ) {
    assert.equal(await store.get(bad), undefined, String(bad));
  }
  assert.ok(await store.get(s.cookie));
  store.revoke(s.id, s.expiresAt);
  assert.equal(await store.get(s.cookie), undefined);
  assert.deepEqual(revoked, [s.id]);
  const t = await store.create();
  now += 100;
  assert.equal(await store.get(t.cookie), undefined); // expired
  store.sweep();
  assert.equal(store.revoked, 0);
  assert.equal(store.size, 0);
});

Deno.test("SessionStore: bounded in sessions (the oldest is revoked) and in revocations", async () => {
  const sizes: number[] = [];
  const store = new SessionStore({
    secret: "tok",
    maxSessions: 2,
    maxRevoked: 3,
    ttlMs: 60_000,
    onSize: (n) => sizes.push(n),
  });
  const first = await store.create();
  await store.create();
  await store.create();
  assert.equal(store.size, 2);
  assert.equal(await store.get(first.cookie), undefined);
  assert.equal(sizes.at(-1), 2);
  for (let i = 0; i < 10; i++) {
    store.revoke(`${"a".repeat(20)}${i}0`, Date.now() + 10_000 + i, true);
  }
  assert.equal(store.revoked, 3);
});

Deno.test("sameText() compares whole strings", () => {
  assert.equal(sameText("abc", "abc"), true);
  assert.equal(sameText("abc", "ab"), false);
  assert.equal(sameText("abc", ""), false);
  assert.equal(sameText("", ""), true);
  assert.equal(sameText("abc", "abd"), false);
});
