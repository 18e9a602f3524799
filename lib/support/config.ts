/**
 * Configuration from environment variables, derived from the one table of
 * settings in `settings.ts`: the {@linkcode Config} type, the
 * {@linkcode DEFAULT_CONFIG}, the parser, each layer's group
 * ({@linkcode configGroup}) and the README's configuration table
 * ({@linkcode renderConfigTable}). A bad value throws a `RangeError` that
 * names the variable, so the process stops at once with a message the
 * operator can act on.
 *
 * @module
 */

import { parsePusherApps, type PusherApp } from "./pusher_apps.ts";
import {
  type ConfigGroupName,
  GROUP_TITLES,
  type Setting,
  SETTINGS,
} from "./settings.ts";

export { type ConfigGroupName, GROUP_TITLES, type Setting, SETTINGS };

/** The settings table's type. */
export type Settings = typeof SETTINGS;

/** The value a setting parses to. */
export type SettingValue<S> = S extends { kind: "int" } ? number
  : S extends { kind: "bool" } ? boolean
  : S extends { kind: "enum"; values: readonly (infer V)[] } ? V
  : S extends { kind: "list" } ? string[]
  : string;

/**
 * The service configuration: one field per row of `SETTINGS` (the row's
 * `doc` says what it means), plus what is derived from them: `dev`,
 * development mode, set by `main.ts --dev` rather than by the environment,
 * and `pusherApps`, the Pusher apps the `pusher` group describes.
 */
export type Config =
  & { -readonly [K in keyof Settings]: SettingValue<Settings[K]> }
  & {
    /** Development mode (`main.ts --dev`): anonymous allowed, `POST /token` mints demo tokens. */
    dev: boolean;
    /** Pusher apps served at `/app/:key` and `/apps/:id` (none: those routes are off; `dev`: the demo app). */
    pusherApps: PusherApp[];
  };

/** Log verbosity, most to least verbose. */
export type LogLevel = Config["logLevel"];

/** Which bus links the isolates of one process. */
export type BusKind = Config["bus"];

/** Where room history (and the offset sequence) lives. */
export type HistoryKind = Config["history"];

/** How the Deno KV history is written (`HISTORY_WRITE`). */
export type HistoryWrite = Config["historyWrite"];

/** The `Config` fields of the settings in group `G`. */
export type GroupKeys<G extends ConfigGroupName> = {
  [K in keyof Settings]: Settings[K]["group"] extends G ? K : never;
}[keyof Settings];

/** The part of {@linkcode Config} a layer receives: the settings of group `G`. */
export type ConfigGroup<G extends ConfigGroupName> = Pick<Config, GroupKeys<G>>;

/** Something environment-like: `Deno.env` fits, and so does a `Map`. */
export interface EnvSource {
  /** Returns the variable's value, or `undefined` when unset. */
  get(name: string): string | undefined;
}

/** Options for {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** Default for `WORKERS` when unset (`main.ts --parallel` passes 0: one per core). @default {1} */
  defaultWorkers?: number;
  /** Development mode (`main.ts --dev`). @default {false} */
  dev?: boolean;
}

const NAMES = Object.keys(SETTINGS) as (keyof Settings)[];

/**
 * Reads the configuration from `env`, each setting by its row. Defaults that
 * depend on the context: `WORKERS` (`defaultWorkers`), `ALLOW_ANONYMOUS` (on
 * in `dev`), `KV_PATH` (empty on Deno Deploy, where the platform provides
 * the database), `HISTORY_MAX_LAG_MS` (at least twice `HISTORY_FLUSH_MS`,
 * and an explicit value must be more than it).
 *
 * @throws {RangeError} naming the variable whose value is invalid.
 *
 * @example Usage
 * ```ts
 * import { parseConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const config = parseConfig(new Map([["PORT", "9000"]]));
 * assert.equal(config.port, 9000);
 * assert.equal(config.maxMessageBytes, 65536);
 * ```
 */
export function parseConfig(
  env: EnvSource,
  options: ParseConfigOptions = {},
): Config {
  const dev = options.dev ?? false;
  const values: Record<string, unknown> = { dev };
  const contextual: Partial<Record<keyof Settings, () => unknown>> = {
    workers: () => options.defaultWorkers ?? SETTINGS.workers.default,
    allowAnonymous: () => dev,
    adminToken: () => dev ? DEV_ADMIN_TOKEN : "",
    kvPath: () =>
      env.get("DENO_DEPLOYMENT_ID") === undefined
        ? SETTINGS.kvPath.default
        : "",
    historyMaxLagMs: () =>
      Math.max(
        SETTINGS.historyMaxLagMs.default,
        2 * Number(values.historyFlushMs),
      ),
  };
  for (const name of NAMES) {
    const setting: Setting = SETTINGS[name];
    const raw = env.get(setting.env);
    const unset = raw === undefined ||
      (setting.kind === "bool" && raw.trim() === "");
    values[name] = unset
      ? (contextual[name]?.() ?? copy(setting.default))
      : readValue(setting, raw ?? "");
  }
  const flush = Number(values.historyFlushMs);
  if (Number(values.historyMaxLagMs) <= flush) {
    throw new RangeError(
      `Invalid HISTORY_MAX_LAG_MS: must be more than HISTORY_FLUSH_MS (${flush}), got "${values.historyMaxLagMs}"`,
    );
  }
  values.pusherApps = parsePusherApps(env, { dev });
  return values as Config; // every key of Config was set above
}

/** The dashboard's login token in development mode when `ADMIN_TOKEN` is unset (local use only). */
export const DEV_ADMIN_TOKEN = "dev-admin";

/** Default values of every setting (an empty environment). */
export const DEFAULT_CONFIG: Readonly<Config> = parseConfig(new Map());

/**
 * The part of `config` that belongs to `group`, for the layer that owns it.
 *
 * @example Usage
 * ```ts
 * import { configGroup, DEFAULT_CONFIG } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const limits = configGroup(DEFAULT_CONFIG, "limits");
 * assert.equal(limits.maxMessageBytes, 65536);
 * assert.equal("port" in limits, false);
 * ```
 */
export function configGroup<G extends ConfigGroupName>(
  config: Config,
  group: G,
): ConfigGroup<G> {
  const picked: Record<string, unknown> = {};
  for (const name of NAMES) {
    if (SETTINGS[name].group === group) picked[name] = config[name];
  }
  return picked as ConfigGroup<G>; // exactly the keys of GroupKeys<G>
}

/**
 * The README's configuration table in markdown: a heading row per group,
 * then a row per setting (`variable | default | meaning`).
 */
export function renderConfigTable(): string {
  const rows = ["| variable | default | meaning |", "| --- | --- | --- |"];
  for (const group of Object.keys(GROUP_TITLES) as ConfigGroupName[]) {
    rows.push(`| **${GROUP_TITLES[group]}** | | |`);
    for (const name of NAMES) {
      const setting: Setting = SETTINGS[name];
      if (setting.group !== group) continue;
      rows.push(`| \`${setting.env}\` | ${shown(setting)} | ${setting.doc} |`);
    }
  }
  return rows.join("\n");
}

function shown(setting: Setting): string {
  if (setting.shown !== undefined) return setting.shown;
  switch (setting.kind) {
    case "bool":
      return setting.default ? "`1`" : "`0`";
    case "list":
      return setting.default.length === 0
        ? "(none)"
        : `\`${setting.default.join(",")}\``;
    case "int":
      return `\`${setting.default}\``;
    default:
      return setting.default === "" ? "(none)" : `\`${setting.default}\``;
  }
}

function copy(value: unknown): unknown {
  return Array.isArray(value) ? [...value] : value;
}

/** Parses a set variable by its row; throws a RangeError naming it. */
function readValue(setting: Setting, raw: string): unknown {
  const name = setting.env;
  switch (setting.kind) {
    case "int": {
      const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
      if (
        !Number.isSafeInteger(value) || value < setting.min ||
        value > setting.max
      ) {
        throw new RangeError(
          `Invalid ${name}: expected an integer from ${setting.min} to ${setting.max}, got "${raw}"`,
        );
      }
      return value;
    }
    case "bool": {
      const text = raw.trim().toLowerCase();
      if (["1", "true", "yes"].includes(text)) return true;
      if (["0", "false", "no"].includes(text)) return false;
      throw new RangeError(`Invalid ${name}: expected 1 or 0, got "${text}"`);
    }
    case "enum": {
      const text = raw.trim();
      const found = setting.values.find((v) => v === text);
      if (found === undefined) {
        throw new RangeError(
          `Invalid ${name}: expected one of ${
            setting.values.join(", ")
          }, got "${text}"`,
        );
      }
      return found;
    }
    case "list": {
      const entries = raw.split(",").map((s) => s.trim()).filter((s) =>
        s !== ""
      );
      const pattern = setting.pattern;
      const bad = pattern === undefined
        ? undefined
        : entries.find((entry) => !pattern.regex.test(entry));
      if (pattern !== undefined && bad !== undefined) {
        throw new RangeError(
          `Invalid ${name}: expected ${pattern.expected}, got "${bad}"`,
        );
      }
      return entries;
    }
    case "string": {
      const text = setting.raw === true ? raw : raw.trim();
      if (setting.nonEmpty === true && text === "") {
        throw new RangeError(`Invalid ${name}: must not be empty`);
      }
      const pattern = setting.pattern;
      if (pattern !== undefined && text !== "" && !pattern.regex.test(text)) {
        const got = setting.secret === true
          ? `${text.length} characters (not shown)`
          : `"${text}"`;
        throw new RangeError(
          `Invalid ${name}: expected ${pattern.expected}, got ${got}`,
        );
      }
      return text;
    }
  }
}
