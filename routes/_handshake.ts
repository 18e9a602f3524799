/**
 * The WebSocket handshake details `Deno.upgradeWebSocket` leaves to the
 * application or gets wrong: RFC 6455 §4.2.1 checks, and subprotocol
 * negotiation over every RFC 7230 list form.
 *
 * @module
 */

import { jsonError } from "../lib/support/http_error.ts";

/** Longest accepted `Sec-WebSocket-Protocol` header (a token may ride in it). */
export const MAX_PROTOCOL_HEADER = 4096;

/**
 * RFC 6455 §4.2.1 checks Deno leaves to the application: version 13, a key
 * of 16 base64 bytes, and a sane subprotocol list (printable ASCII and tabs,
 * bounded).
 */
export function checkHandshake(
  headers: Headers,
  protocols: string | null = headers.get("sec-websocket-protocol"),
): { status: number; message: string } | undefined {
  if (headers.get("sec-websocket-version") !== "13") {
    return { status: 426, message: "Sec-WebSocket-Version must be 13" };
  }
  if (!/^[A-Za-z0-9+/]{22}==$/.test(headers.get("sec-websocket-key") ?? "")) {
    return {
      status: 400,
      message: "Sec-WebSocket-Key must be 16 bytes in base64",
    };
  }
  if (
    protocols !== null &&
    (protocols.length > MAX_PROTOCOL_HEADER ||
      !/^[\t\x20-\x7e]*$/.test(protocols))
  ) {
    return {
      status: 400,
      message:
        `Sec-WebSocket-Protocol must be printable ASCII of at most ${MAX_PROTOCOL_HEADER} bytes`,
    };
  }
  return undefined;
}

/**
 * The subprotocols a client offers, in order: the `Sec-WebSocket-Protocol`
 * list in any RFC 7230 §7 form (`a,b`, `a, b`, `a ,b`, tabs, empty elements,
 * repeated header lines, which `Headers.get` joins with ", ").
 *
 * @example Usage
 * ```ts
 * import { offeredProtocols } from "./_handshake.ts";
 * import assert from "node:assert/strict";
 *
 * const headers = new Headers({ "sec-websocket-protocol": "a,b ,\tc,," });
 * assert.deepEqual(offeredProtocols(headers), ["a", "b", "c"]);
 * ```
 */
export function offeredProtocols(headers: Headers): string[] {
  return protocolList(headers.get("sec-websocket-protocol"));
}

/**
 * The names in one `Sec-WebSocket-Protocol` value (`null`: no header), as
 * {@linkcode offeredProtocols} reads them: split on commas, optional
 * whitespace (spaces, tabs) trimmed, empty entries dropped.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { protocolList } from "./_handshake.ts";
 *
 * assert.deepEqual(protocolList("a,b ,\tc,,"), ["a", "b", "c"]);
 * assert.deepEqual(protocolList(null), []);
 * ```
 */
export function protocolList(value: string | null): string[] {
  const names: string[] = [];
  if (value === null || value === "") return names;
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end === -1) end = value.length;
    let a = start;
    let b = end;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    if (b > a) names.push(value.slice(a, b));
    start = end + 1;
  }
  return names;
}

/** Space or tab: RFC 7230 optional whitespace. */
function isOws(code: number): boolean {
  return code === 32 || code === 9;
}

/**
 * Upgrades `request`, answering with `protocol` (one the caller picked from
 * {@linkcode offeredProtocols}) when given.
 *
 * `Deno.upgradeWebSocket`'s own `protocol` option splits the request's list
 * on ", " only (Deno 2.9.6), so the `a,b` that Node's `ws` client sends
 * throws "not in the request's protocol list". The request's headers are
 * immutable, but the 101 response's are not: negotiation happens here and
 * the chosen name is set on the response.
 *
 * When Deno refuses the upgrade, returns the 400 `bad_upgrade` answer instead.
 */
export function upgradeWebSocket(
  request: Request,
  options: {
    protocol?: string;
    idleTimeout: number;
    /** The request's `Sec-WebSocket-Protocol`, when the caller read it already. */
    offered?: string | null;
  },
): { socket: WebSocket; response: Response } | Response {
  let upgraded: { socket: WebSocket; response: Response };
  // Deno sets the header itself (no Headers object built) when the list is
  // in its ", " form; any other form is negotiated on the response below.
  const { protocol, idleTimeout } = options;
  const offered = options.offered === undefined
    ? request.headers.get("sec-websocket-protocol")
    : options.offered;
  const native = protocol !== undefined && offered !== null &&
    offered.split(", ").includes(protocol);
  try {
    upgraded = Deno.upgradeWebSocket(
      request,
      native ? { idleTimeout, protocol } : { idleTimeout },
    );
  } catch (error) {
    return jsonError(
      400,
      "bad_upgrade",
      `WebSocket upgrade failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  if (protocol !== undefined && !native) {
    upgraded.response.headers.set("sec-websocket-protocol", protocol);
  }
  return upgraded;
}

/** Why a request is no WebSocket handshake roomcast takes (see {@linkcode handshakeRefusal}). */
export interface HandshakeRefusal {
  status: number;
  code: "upgrade_required" | "bad_handshake";
  message: string;
  headers: Record<string, string>;
}

/**
 * The refusal of a request that is not a well-formed WebSocket handshake —
 * 426 `upgrade_required` without `Upgrade: websocket`, else what
 * {@linkcode checkHandshake} finds — or undefined for a good one. Shared by
 * `/ws` and the Pusher endpoint.
 */
export function handshakeRefusal(
  headers: Headers,
  protocols: string | null = headers.get("sec-websocket-protocol"),
): HandshakeRefusal | undefined {
  if (headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return {
      status: 426,
      code: "upgrade_required",
      message:
        "This endpoint speaks WebSocket only: send an Upgrade: websocket request",
      headers: { upgrade: "websocket" },
    };
  }
  const malformed = checkHandshake(headers, protocols);
  if (malformed === undefined) return undefined;
  return {
    status: malformed.status,
    code: "bad_handshake",
    message: malformed.message,
    headers: malformed.status === 426 ? { "sec-websocket-version": "13" } : {},
  };
}
