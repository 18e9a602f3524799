/**
 * Command line of `deno task bench` (tests/bench/run.ts).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ALL_CONTESTANTS as CONTESTANTS } from "./roster.ts";
import { type ScenarioName, SCENARIOS } from "./scenarios.ts";

/** Parsed options. */
export interface BenchOptions {
  quick: boolean;
  reps: number;
  /** Contestant ids or groups to run (undefined: all). */
  only: string[] | undefined;
  scenarios: ScenarioName[];
  /** Case ids to run within the scenarios (undefined: all), e.g. `fanout-1000`. */
  cases: string[] | undefined;
  /** Fixed load: publish this many msg/s instead of half of bare Deno's capacity. */
  fixedRate: number | undefined;
  /** Fixed load: measure this many messages instead of 4 seconds' worth. */
  fixedMsgs: number | undefined;
  pin: boolean;
  maxMinutes: number;
  roomcastEnv: Record<string, string>;
  report: boolean;
  /** Only regenerate the report from this results file. */
  reportFrom: string | undefined;
  help: boolean;
}

/** The `--help` text. */
export const USAGE = `deno task bench [options]

  --quick                 1 repetition, small counts (development)
  --reps N                repetitions (default 5; 1 with --quick)
  --only a,b              contestants: ${
  [...new Set(CONTESTANTS.map((c) => c.group))].join(", ")
}
  --scenario a,b          scenarios: ${SCENARIOS.join(", ")}
  --case a,b              only these cases, e.g. fanout-100,fanout-1000,fixed-1000
  --fixed-rate R          fixed load: R msg/s (default: half of bare Deno's capacity)
  --fixed-msgs N          fixed load: measure N messages (default: 4 s worth)
  --max-minutes M         time budget; later runs are skipped (default 75)
  --roomcast-env K=V      extra env for roomcast servers (repeatable)
  --no-pin                do not pin server and generator with taskset
  --no-report             leave docs/benchmarks.md and .svg alone
  --report-from FILE      only regenerate the report from a results file
  --help`;

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** An optional integer option within `min..max`; throws a `RangeError` otherwise. */
function intOption(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= min && n <= max)) {
    throw new RangeError(`${flag} must be ${min}..${max}, got ${value}`);
  }
  return n;
}

function isScenario(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}

/** Parses `args`; throws a `RangeError` with a readable message. */
export function parseCli(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      "quick": { type: "boolean", default: false },
      "reps": { type: "string" },
      "only": { type: "string" },
      "scenario": { type: "string" },
      "case": { type: "string" },
      "fixed-rate": { type: "string" },
      "fixed-msgs": { type: "string" },
      "max-minutes": { type: "string" },
      "roomcast-env": { type: "string", multiple: true },
      "no-pin": { type: "boolean", default: false },
      "no-report": { type: "boolean", default: false },
      "report-from": { type: "string" },
      "help": { type: "boolean", default: false },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const reps = Number(values.reps ?? (quick ? 1 : 5));
  if (!Number.isInteger(reps) || reps < 1 || reps > 50) {
    throw new RangeError(`--reps must be 1..50, got ${values.reps}`);
  }
  const only = list(values.only);
  const groups = new Set(CONTESTANTS.flatMap((c) => [c.id, c.group]));
  for (const id of only ?? []) {
    if (!groups.has(id)) throw new RangeError(`--only: unknown "${id}"`);
  }
  const names = list(values.scenario) ?? [...SCENARIOS];
  const scenarios = names.filter(isScenario);
  for (const name of names) {
    if (!isScenario(name)) {
      throw new RangeError(`--scenario: unknown "${name}"`);
    }
  }
  const maxMinutes = Number(values["max-minutes"] ?? 75);
  if (!(maxMinutes > 0)) throw new RangeError("--max-minutes must be > 0");
  const fixedRate = intOption(values["fixed-rate"], "--fixed-rate", 1, 100_000);
  const fixedMsgs = intOption(
    values["fixed-msgs"],
    "--fixed-msgs",
    10,
    1_000_000,
  );
  const roomcastEnv: Record<string, string> = {};
  for (const pair of values["roomcast-env"] ?? []) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new RangeError(`--roomcast-env wants K=V, got "${pair}"`);
    roomcastEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    quick,
    reps,
    only,
    scenarios,
    cases: list(values.case),
    fixedRate,
    fixedMsgs,
    pin: !(values["no-pin"] ?? false),
    maxMinutes,
    roomcastEnv,
    report: !(values["no-report"] ?? false),
    reportFrom: values["report-from"],
    help: values.help ?? false,
  };
}
