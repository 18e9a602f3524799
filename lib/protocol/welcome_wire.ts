/**
 * The `welcome` frame, encoded per connection from parts built once: only
 * the connection and member ids differ between connections, so the rest of
 * the JSON is serialized when the hub starts, not on every upgrade.
 *
 * @module
 */

import { encodeServerMessage, type WelcomeMessage } from "./messages.ts";

/** What every connection's `welcome` shares. */
export type WelcomeFixed = Omit<
  WelcomeMessage,
  "type" | "connectionId" | "memberId"
>;

/** Encodes one connection's `welcome`; see {@linkcode welcomeEncoder}. */
export type WelcomeEncoder = (connectionId: string, memberId: string) => string;

// Markers no id can contain (ids are validated printable text).
const ID = "\u0000connection";
const MEMBER = "\u0000member";
const ID_MARK = JSON.stringify(ID);
const MEMBER_MARK = JSON.stringify(MEMBER);

/**
 * An encoder whose output equals `encodeServerMessage` of the whole
 * `welcome` (same keys, same order), at the cost of two `JSON.stringify`
 * calls of short strings.
 *
 * @example Usage
 * ```ts
 * import { welcomeEncoder } from "./welcome_wire.ts";
 * import assert from "node:assert/strict";
 *
 * const welcome = welcomeEncoder({ heartbeatMs: 25_000, protocol: 1 });
 * assert.equal(
 *   welcome("c1", "u1"),
 *   '{"type":"welcome","connectionId":"c1","heartbeatMs":25000,"protocol":1,"memberId":"u1"}',
 * );
 * ```
 */
export function welcomeEncoder(fixed: WelcomeFixed): WelcomeEncoder {
  const { heartbeatMs, protocol, ...rest } = fixed;
  const template = encodeServerMessage({
    type: "welcome",
    connectionId: ID,
    heartbeatMs,
    protocol,
    memberId: MEMBER,
    ...rest,
  });
  const [head, after] = splitOnce(template, ID_MARK);
  const [mid, tail] = splitOnce(after, MEMBER_MARK);
  return (connectionId, memberId) =>
    head + JSON.stringify(connectionId) + mid + JSON.stringify(memberId) +
    tail;
}

function splitOnce(text: string, mark: string): [string, string] {
  const at = text.indexOf(mark);
  if (at < 0) throw new Error(`Welcome template lost its marker ${mark}`);
  return [text.slice(0, at), text.slice(at + mark.length)];
}
