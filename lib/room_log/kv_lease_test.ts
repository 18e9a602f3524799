/** When a lease counts as held: released, expired, or its holder gone. */
import assert from "node:assert/strict";
import {
  holdLocally,
  isLive,
  type Lease,
  processIdentity,
} from "./kv_lease.ts";

const NOW = 1_000_000;
const here = processIdentity();

function lease(extra: Partial<Lease>): Lease {
  return {
    owner: "o",
    gen: 1,
    expiresAt: NOW + 5_000,
    clean: false,
    ...here,
    ...extra,
  };
}

Deno.test("isLive: a released or expired lease is free", () => {
  holdLocally("o", true);
  assert.equal(isLive(lease({}), NOW), true);
  assert.equal(isLive(lease({ clean: true }), NOW), false);
  assert.equal(isLive(lease({ expiresAt: NOW }), NOW), false);
  assert.equal(isLive(undefined, NOW), false);
  holdLocally("o", false);
});

Deno.test("isLive: in this process, only while the holder still holds it", () => {
  holdLocally("o", true);
  assert.equal(isLive(lease({}), NOW), true);
  holdLocally("o", false);
  assert.equal(isLive(lease({}), NOW), false);
});

Deno.test("isLive: a holder on this host whose process is gone frees the lease at once", async () => {
  const child = new Deno.Command("true").spawn();
  await child.status; // exited and reaped: its pid names no process
  assert.equal(isLive(lease({ pid: child.pid }), NOW), false);
  // A process that runs (our parent shell's is not ours to know; use our own
  // pid under another owner id on another "host" below).
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    assert.equal(isLive(lease({ pid: sleeper.pid }), NOW), true);
  } finally {
    sleeper.kill();
    await sleeper.status;
  }
});

Deno.test("isLive: a holder on another host counts until its lease expires", () => {
  const remote = lease({ host: `${here.host ?? ""}-elsewhere`, pid: 1 });
  assert.equal(isLive(remote, NOW), true);
  assert.equal(isLive(remote, NOW + 5_000), false);
});
