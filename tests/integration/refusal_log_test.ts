/**
 * Refusals must not flood the log (issue #10, item 8): a wrong key used to
 * write one line per request (231,156 requests in 10 s wrote 34 MB). Now one
 * line per cause at once and a summary per interval; the counters on
 * /metrics keep the full count.
 */
import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import { captureLog, report, startTestServer } from "../_support/harness.ts";
import { upgradeStatus } from "../_support/raw_ws.ts";

const API_KEY = `api-${crypto.randomUUID()}`;
const METRICS_TOKEN = `metrics-${crypto.randomUUID()}`;
const SECRET = "refusal-log-secret-0123456789";

/** `roomcast_<name>{reason="<reason>"}` from a scrape, or undefined. */
async function metric(
  url: string,
  name: string,
  reason: string,
): Promise<number | undefined> {
  const res = await fetch(`${url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  const text = await res.text();
  const line = text.split("\n").find((l) =>
    l.startsWith(`roomcast_${name}{`) && l.includes(`reason="${reason}"`)
  );
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

async function inBatches(total: number, send: () => Promise<void>) {
  for (let done = 0; done < total; done += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, total - done) }, send),
    );
  }
}

Deno.test("refusals: 1,000 requests with a wrong API key write one log line per cause; /metrics counts 1,000", async () => {
  const { log, lines } = captureLog();
  const server = await startTestServer({
    log,
    env: { API_KEY, METRICS_TOKEN, AUTH_SECRET: SECRET, LOG_LEVEL: "info" },
  });
  try {
    await inBatches(1_000, async () => {
      const res = await fetch(`${server.url}/api/rooms`, {
        headers: { authorization: "Bearer wrong-key" },
      });
      await res.body?.cancel();
      assert.equal(res.status, 401);
    });
    await inBatches(100, async () => {
      const res = await fetch(`${server.url}/api/rooms/lobby/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      await res.body?.cancel();
      assert.equal(res.status, 401);
    });
    const forged = await signHs256({ sub: "ann" }, "another-secret-entirely");
    await inBatches(200, async () => {
      const status = await upgradeStatus(
        server.addr.port,
        `/ws?token=${forged}`,
      );
      assert.equal(status, 401);
    });
    const refusals = lines.filter((l) => l.includes("refused"));
    assert.equal(refusals.length, 3, refusals.join("\n"));
    assert.equal(
      await metric(server.url, "api_refused_total", "invalid"),
      1_000,
    );
    assert.equal(await metric(server.url, "api_refused_total", "missing"), 100);
    assert.equal(
      await metric(server.url, "auth_failures_total", "signature"),
      200,
    );
  } finally {
    await server.shutdown();
  }
  // Shutdown writes the summaries: what was held back is said, not lost.
  const summaries = lines.filter((l) => l.includes("(repeated)"));
  const suppressed = Object.fromEntries(summaries.map((l) => {
    const line: unknown = JSON.parse(l);
    return [
      String(Reflect.get(Object(line), "cause")),
      Reflect.get(Object(line), "suppressed"),
    ];
  }));
  assert.deepEqual(suppressed, {
    "api:invalid": 999,
    "api:missing": 99,
    "upgrade:signature": 199,
  });
  const bytes = lines.reduce((sum, l) => sum + l.length + 1, 0);
  report(
    `refusals: 1,300 refused requests → ${lines.length} log lines, ${bytes} bytes`,
  );
});
