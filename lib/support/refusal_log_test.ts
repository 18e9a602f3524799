/** RefusalLog: first refusal at once, then one summary per interval, bounded causes. */
import assert from "node:assert/strict";
import { mock } from "node:test";
import type { LogFields, Logger } from "./log.ts";
import { OVERFLOW_CAUSE, RefusalLog } from "./refusal_log.ts";

interface Line {
  level: string;
  msg: string;
  fields: LogFields;
}

function capture(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, fields: LogFields = {}) => {
    lines.push({ level, msg, fields });
  };
  return {
    lines,
    log: {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
    },
  };
}

function withClock(fn: () => void): void {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  try {
    fn();
  } finally {
    mock.timers.reset();
  }
}

Deno.test("RefusalLog writes the first refusal at once and one summary for the rest of the interval", () => {
  withClock(() => {
    const { log, lines } = capture();
    let suppressed = 0;
    const refusals = new RefusalLog({
      log,
      intervalMs: 10_000,
      maxCauses: 8,
      onSuppressed: (n) => (suppressed += n),
    });
    for (let i = 0; i < 1_000; i++) {
      refusals.refuse("warn", "api:invalid", "API request refused", {
        ip: "1.2.3.4",
      });
    }
    assert.deepEqual(lines, [{
      level: "warn",
      msg: "API request refused",
      fields: { cause: "api:invalid", ip: "1.2.3.4" },
    }]);
    mock.timers.tick(10_000);
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[1], {
      level: "warn",
      msg: "API request refused (repeated)",
      fields: { cause: "api:invalid", suppressed: 999, intervalMs: 10_000 },
    });
    assert.equal(suppressed, 999);
    // Quiet for an interval: the next refusal is news again, logged at once.
    mock.timers.tick(10_000);
    refusals.refuse("warn", "api:invalid", "API request refused");
    assert.equal(lines.length, 3);
    assert.equal(lines[2]?.msg, "API request refused");
    refusals.close();
  });
});

Deno.test("RefusalLog under a sustained flood writes at most two lines per cause per interval", () => {
  withClock(() => {
    const { log, lines } = capture();
    const refusals = new RefusalLog({ log, intervalMs: 1_000, maxCauses: 8 });
    let total = 0;
    for (let ms = 0; ms < 60_000; ms += 10) {
      for (const cause of ["a", "b"]) {
        refusals.refuse("info", cause, `refused ${cause}`);
        total += 1;
      }
      mock.timers.tick(10);
    }
    refusals.close();
    assert.ok(lines.length <= 2 * 2 * 60, `${lines.length} lines`);
    // Nothing is lost: lines written plus suppressed counts add up.
    let counted = 0;
    for (const line of lines) {
      const n = line.fields.suppressed;
      counted += typeof n === "number" ? n : 1;
    }
    assert.equal(counted, total);
  });
});

Deno.test("RefusalLog tracks at most maxCauses causes; the rest share 'other'", () => {
  withClock(() => {
    const { log, lines } = capture();
    const refusals = new RefusalLog({ log, intervalMs: 1_000, maxCauses: 4 });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 100; i++) refusals.refuse("info", `c${i}`, "refused");
    }
    assert.ok(refusals.size <= 5, `${refusals.size} causes`);
    assert.equal(lines.length, 5);
    assert.equal(lines[4]?.fields.cause, OVERFLOW_CAUSE);
    refusals.close();
    assert.equal(lines.length, 10);
    // Once quiet, the causes are forgotten and new ones get their own line.
    mock.timers.tick(2_000);
    refusals.refuse("info", "fresh", "refused");
    assert.equal(lines.at(-1)?.fields.cause, "fresh");
    refusals.close();
  });
});

Deno.test("RefusalLog.close() writes pending summaries and leaves no timer", () => {
  withClock(() => {
    const { log, lines } = capture();
    const refusals = new RefusalLog({ log, intervalMs: 60_000, maxCauses: 4 });
    refusals.refuse("info", "x", "refused");
    refusals.refuse("info", "x", "refused");
    refusals.close();
    assert.equal(lines.length, 2);
    assert.equal(lines[1]?.fields.suppressed, 1);
    mock.timers.tick(120_000);
    assert.equal(lines.length, 2);
  });
});
