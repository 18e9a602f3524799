/**
 * JSON values and helpers of the wire protocol: the `Json` type, validation
 * with a nesting limit, sizes, and the record guard every parser uses.
 *
 * @module
 */

/** Any JSON value. */
export type Json =
  | null
  | boolean
  | number
  | string
  | Json[]
  | { [key: string]: Json };

/**
 * Whether `value` is a JSON value, nested at most `maxDepth` deep (see
 * {@linkcode jsonFault}; iterative, so deep nesting cannot overflow the
 * stack). Values from `JSON.parse` always are JSON; this keeps the types
 * honest.
 */
export function isJson(value: unknown, maxDepth = Infinity): value is Json {
  return jsonFault(value, maxDepth) === undefined;
}

/**
 * What keeps `value` from being JSON nested at most `maxDepth` deep, or
 * undefined when nothing does: `not_json`, or `too_deep` when arrays and
 * objects nest deeper than `maxDepth` (a scalar has depth 0, `[]` and `{}`
 * depth 1, `[[1]]` depth 2). Iterative, so no nesting overflows the stack.
 */
export function jsonFault(
  value: unknown,
  maxDepth = Infinity,
): "not_json" | "too_deep" | undefined {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()! + 1;
    if (v === null || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return "not_json";
      continue;
    }
    if (typeof v !== "object") return "not_json";
    if (depth > maxDepth) return "too_deep";
    if (Array.isArray(v)) {
      for (const item of v) {
        values.push(item);
        depths.push(depth);
      }
      continue;
    }
    for (const key in v) {
      if (Object.hasOwn(v, key)) {
        values.push(Reflect.get(v, key));
        depths.push(depth);
      }
    }
  }
  return undefined;
}

/** UTF-8 size of a JSON value's text. */
export function jsonBytes(value: Json): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

/** Whether `value` is a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
