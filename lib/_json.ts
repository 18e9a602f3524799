/**
 * JSON helpers of the wire protocol (internal to `lib/`; public names are
 * re-exported by `protocol.ts`).
 *
 * @module
 */

import { ERROR_CODE } from "./codes.ts";
import { type Json, ProtocolError } from "./protocol.ts";

/**
 * Whether `value` is a JSON value (iterative, so deep nesting cannot overflow
 * the stack). Values from `JSON.parse` always are; this keeps the types honest.
 */
export function isJson(value: unknown): value is Json {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return false;
      continue;
    }
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
      continue;
    }
    if (typeof v !== "object") return false;
    for (const key in v) {
      if (Object.hasOwn(v, key)) stack.push(Reflect.get(v, key));
    }
  }
  return true;
}

/** UTF-8 size of a JSON value's text. */
export function jsonBytes(value: Json): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError(ERROR_CODE.BAD_JSON, "Frame is not valid JSON");
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
