/**
 * Startup failures as one line an operator can act on: what went wrong and
 * how to fix it ({@linkcode explainStartupError}), and a check of the listen
 * address before anything slow (opening the database, waiting for its
 * lease) happens ({@linkcode probeListen}).
 *
 * @module
 */

import { LeaseHeldError } from "../room_log/kv_lease.ts";

/** Where the server was asked to listen. */
export interface ListenTarget {
  /** `HOST` */
  host: string;
  /** `PORT` */
  port: number;
}

/**
 * Binds `target` once and lets it go, so that a port in use or a host that
 * is not an address of this machine is reported at once, before the
 * database is opened. Throws what `Deno.listen` throws.
 */
export function probeListen(target: ListenTarget): void {
  const listener = Deno.listen({
    hostname: target.host,
    port: target.port,
    transport: "tcp",
  });
  listener.close();
}

/**
 * One line naming the cause of a startup failure and its fix.
 *
 * @example Usage
 * ```ts
 * import { explainStartupError } from "./startup.ts";
 * import assert from "node:assert/strict";
 *
 * const line = explainStartupError(
 *   new Deno.errors.AddrInUse("Address already in use (os error 98)"),
 *   { host: "0.0.0.0", port: 8000 },
 * );
 * assert.match(line, /^Port 8000 is in use/);
 * ```
 */
export function explainStartupError(
  error: unknown,
  target: ListenTarget,
): string {
  const message = error instanceof Error ? error.message : String(error);
  const where = `${target.host}:${target.port}`;
  if (
    error instanceof Deno.errors.AddrInUse || /AddrInUse|in use/i.test(message)
  ) {
    return `Port ${target.port} is in use (${where}): stop the process that holds it (another roomcast?) or set PORT to a free port (PORT=0 picks one)`;
  }
  if (
    /lookup address|Name or service not known|nodename nor servname/i.test(
      message,
    )
  ) {
    return `HOST "${target.host}" does not resolve: set HOST to an address of this machine (0.0.0.0 for every interface, 127.0.0.1 for this machine only)`;
  }
  if (
    error instanceof Deno.errors.AddrNotAvailable ||
    /AddrNotAvailable|not available|assign requested address/i.test(message)
  ) {
    return `HOST "${target.host}" is not an address of this machine: set HOST to one of its interfaces (0.0.0.0 for every interface, 127.0.0.1 for this machine only)`;
  }
  if (
    error instanceof Deno.errors.PermissionDenied &&
    /listen|bind|permission denied \(os error 13\)/i.test(message)
  ) {
    return `Port ${target.port} needs privileges to bind (${where}): use a port above 1023 (behind a proxy for 80/443)`;
  }
  if (error instanceof LeaseHeldError || /LeaseHeldError/.test(message)) {
    const text = error instanceof LeaseHeldError
      ? message
      : message.replace(/^.*LeaseHeldError:\s*/s, "");
    return text;
  }
  if (error instanceof RangeError || /^Invalid [A-Z_]+/.test(message)) {
    return message;
  }
  // Anything else: the message without a stack, as it came.
  return message.split("\n")[0] ?? message;
}
