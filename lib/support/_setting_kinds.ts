/**
 * The kinds of setting (int, bool, string, enum, list), their row types and
 * the builders the settings tables are written with.
 *
 * @module
 */

/** The groups settings belong to; each layer is handed its own. */
export type ConfigGroupName =
  | "server"
  | "history"
  | "delivery"
  | "engine"
  | "security"
  | "limits"
  | "pusher"
  | "admin"
  | "sse"
  | "webhooks";

/** What every setting has. */
interface SettingBase<G extends ConfigGroupName> {
  /** Environment variable. */
  env: string;
  /** The group it belongs to. */
  group: G;
  /** One line: what it means (README table). */
  doc: string;
  /** How the README shows the default, when not the plain value. */
  shown?: string;
}

/** An integer from `min` to `max`. */
export interface IntSetting<G extends ConfigGroupName = ConfigGroupName>
  extends SettingBase<G> {
  kind: "int";
  default: number;
  min: number;
  max: number;
}

/** A flag: `1`/`true`/`yes` or `0`/`false`/`no`. */
export interface BoolSetting<G extends ConfigGroupName = ConfigGroupName>
  extends SettingBase<G> {
  kind: "bool";
  default: boolean;
}

/** A check of a value's shape: the error says "expected <expected>". */
export interface Pattern {
  /** What a valid value matches. */
  regex: RegExp;
  /** What the error message says was expected. */
  expected: string;
}

/**
 * Text, trimmed unless `raw`; `nonEmpty` refuses an empty value; `pattern`
 * checks a non-empty one; `secret` keeps the value out of error messages.
 */
export interface StringSetting<G extends ConfigGroupName = ConfigGroupName>
  extends SettingBase<G> {
  kind: "string";
  default: string;
  raw?: boolean;
  nonEmpty?: boolean;
  pattern?: Pattern;
  secret?: boolean;
}

/** One of a fixed list of words. */
export interface EnumSetting<
  G extends ConfigGroupName = ConfigGroupName,
  V extends string = string,
> extends SettingBase<G> {
  kind: "enum";
  default: V;
  values: readonly V[];
}

/** A comma-separated list (entries trimmed, empty ones dropped); `pattern` checks each entry. */
export interface ListSetting<G extends ConfigGroupName = ConfigGroupName>
  extends SettingBase<G> {
  kind: "list";
  default: readonly string[];
  pattern?: Pattern;
}

/** One row of the settings table. */
export type Setting =
  | IntSetting
  | BoolSetting
  | StringSetting
  | EnumSetting
  | ListSetting;

/** Optional parts of a row: how the README shows the default, string options. */
export type Extra = Pick<
  StringSetting,
  "shown" | "raw" | "nonEmpty" | "pattern" | "secret"
>;

/** A row of kind int. */
export function int<G extends ConfigGroupName>(
  group: G,
  env: string,
  value: number,
  [min, max = Number.MAX_SAFE_INTEGER]: [number, number?],
  doc: string,
  shown?: string,
): IntSetting<G> {
  const row: IntSetting<G> = {
    kind: "int",
    group,
    env,
    default: value,
    min,
    max,
    doc,
  };
  if (shown !== undefined) row.shown = shown;
  return row;
}

/** A row of kind bool. */
export function bool<G extends ConfigGroupName>(
  group: G,
  env: string,
  value: boolean,
  doc: string,
  shown?: string,
): BoolSetting<G> {
  const row: BoolSetting<G> = { kind: "bool", group, env, default: value, doc };
  if (shown !== undefined) row.shown = shown;
  return row;
}

/** A row of kind text. */
export function text<G extends ConfigGroupName>(
  group: G,
  env: string,
  value: string,
  doc: string,
  extra: Extra = {},
): StringSetting<G> {
  return { kind: "string", group, env, default: value, doc, ...extra };
}

/** A row of kind oneOf. */
export function oneOf<G extends ConfigGroupName, const V extends string>(
  group: G,
  env: string,
  value: NoInfer<V>,
  values: readonly V[],
  doc: string,
): EnumSetting<G, V> {
  return { kind: "enum", group, env, default: value, values, doc };
}

/** A row of kind list. */
export function list<G extends ConfigGroupName>(
  group: G,
  env: string,
  doc: string,
  shown: string,
  pattern?: Pattern,
): ListSetting<G> {
  const row: ListSetting<G> = {
    kind: "list",
    group,
    env,
    default: [],
    doc,
    shown,
  };
  if (pattern !== undefined) row.pattern = pattern;
  return row;
}
