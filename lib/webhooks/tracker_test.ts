/** WebhookTracker on a mocked clock: delays, cancellation by a return, settled counts. */
import assert from "node:assert/strict";
import { mock } from "node:test";
import { WebhookTracker } from "./tracker.ts";
import type { WebhookEvent } from "./events.ts";

function tracker(): {
  t: WebhookTracker;
  decided: Array<[string, string | null, WebhookEvent]>;
} {
  const decided: Array<[string, string | null, WebhookEvent]> = [];
  const t = new WebhookTracker({
    vacateDelayMs: 3_000,
    countDelayMs: 1_000,
    decide: (key, value, event) => decided.push([key, value, event]),
  });
  return { t, decided };
}

Deno.test("tracker: occupied at once; vacated after the delay; a return within it cancels the vacate", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { t, decided } = tracker();
    t.occupancy("news", true);
    assert.deepEqual(decided, [["occupied:news", "1", {
      name: "channel_occupied",
      channel: "news",
    }]]);
    t.occupancy("news", true); // no change, nothing new
    t.occupancy("news", false);
    mock.timers.tick(2_999);
    t.occupancy("news", true); // a reload: back within the delay
    mock.timers.tick(10_000);
    assert.equal(decided.length, 2); // the return re-asserts "1" (the store finds it unchanged)
    assert.equal(decided[1]![0], "occupied:news");
    t.occupancy("news", false);
    mock.timers.tick(2_999);
    assert.equal(decided.length, 2);
    mock.timers.tick(1);
    assert.deepEqual(decided[2], ["occupied:news", null, {
      name: "channel_vacated",
      channel: "news",
    }]);
    t.close();
  } finally {
    mock.timers.reset();
  }
});

Deno.test("tracker: member_removed waits and is cancelled by a rejoin; members are per channel and user", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { t, decided } = tracker();
    t.member("presence-a", "u1", true);
    t.member("presence-b", "u1", true);
    t.member("presence-a", "u1", false);
    mock.timers.tick(1_000);
    t.member("presence-a", "u1", true);
    mock.timers.tick(5_000);
    assert.deepEqual(decided.map(([, , e]) => e.name), [
      "member_added",
      "member_added",
      "member_added",
    ]);
    t.member("presence-b", "u1", false);
    mock.timers.tick(3_000);
    assert.deepEqual(decided.at(-1), ["member:presence-b\nu1", null, {
      name: "member_removed",
      channel: "presence-b",
      "user_id": "u1",
    }]);
    t.close();
  } finally {
    mock.timers.reset();
  }
});

Deno.test("tracker: a count is announced once it settled; 0 deletes the state", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { t, decided } = tracker();
    t.count("news", 1);
    mock.timers.tick(500);
    t.count("news", 2);
    mock.timers.tick(999);
    assert.equal(decided.length, 0);
    mock.timers.tick(1);
    assert.deepEqual(decided, [["count:news", "2", {
      name: "subscription_count",
      channel: "news",
      "subscription_count": 2,
    }]]);
    t.count("news", 0);
    mock.timers.tick(1_000);
    assert.deepEqual(decided[1], ["count:news", null, {
      name: "subscription_count",
      channel: "news",
      "subscription_count": 0,
    }]);
    assert.equal(t.size, 0);
    t.close();
  } finally {
    mock.timers.reset();
  }
});

Deno.test("tracker: close cancels pending decisions", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { t, decided } = tracker();
    t.occupancy("x", true);
    t.occupancy("x", false);
    t.close();
    mock.timers.tick(10_000);
    assert.equal(decided.length, 1);
  } finally {
    mock.timers.reset();
  }
});
