/**
 * Smoke test of the benchmark harness (part of `deno task test`): compiles
 * the C generator and runs roomcast (one isolate) and bare Deno with tiny
 * counts. It checks that the harness ran and counted every message, never a
 * speed. Without `cc` it fails under CI=true and is skipped loudly otherwise.
 *
 * @module
 */

import assert from "node:assert/strict";
import { contestant, type LaunchContext } from "./contestants.ts";
import { compileLoadgen, haveCc, runLoadgen } from "./loadgen.ts";
import { startContestant } from "./runner.ts";

const BENCH_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname);
const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname);
const ccFound = await haveCc();
const inCi = Deno.env.get("CI") === "true";

if (!ccFound && !inCi) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      "\n!!! bench_smoke_test SKIPPED: no C compiler (`cc`) on PATH; " +
        "the benchmark's load generator cannot be built. Install gcc. !!!\n\n",
    ),
  );
}

Deno.test({
  name:
    "bench harness: the C generator counts every delivery (roomcast, bare Deno)",
  ignore: !ccFound && !inCi,
  async fn() {
    assert.ok(ccFound, "cc is required under CI=true");
    const dir = await Deno.makeTempDir({ prefix: "roomcast_bench_" });
    try {
      const binary = `${dir}/loadgen`;
      await compileLoadgen(binary);
      const launch: LaunchContext = {
        root: ROOT,
        benchDir: BENCH_DIR,
        peersDir: `${BENCH_DIR}.peers/`,
        deno: Deno.execPath(),
        node: "node",
        bun: undefined,
        roomcastEnv: {},
        runDir: dir,
      };
      for (const id of ["roomcast", "deno-bare"]) {
        const c = contestant(id);
        const server = await startContestant({ launch, loadgen: binary }, c);
        try {
          const result = await runLoadgen({
            binary,
            port: server.port,
            proto: c.proto,
            path: c.path,
            serverPid: server.proc.pid,
          }, {
            mode: "window",
            subs: 20,
            msgs: 200,
            warmup: 10,
            window: 4,
            timeLimit: 20,
          });
          assert.equal(result.error, null, `${id}: ${result.error}`);
          assert.equal(result.connected, 21, `${id}: connections`);
          assert.equal(result.expected, 20 * 200, `${id}: expected`);
          assert.equal(result.delivered, result.expected, `${id}: delivered`);
          assert.equal(result.lost, 0, `${id}: lost`);
          assert.equal(result.duplicates, 0, `${id}: duplicates`);
          assert.equal(result.latencySamples, 20 * 200, `${id}: samples`);
        } finally {
          await server.stop();
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
