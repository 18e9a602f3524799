/**
 * The client's IP as `Deno.serve` reports it (hono passes the serve info as
 * the context's `env`), read without casts.
 *
 * @module
 */

import type { Context } from "hono";

/**
 * The peer address of the request, or `"unknown"` when the context carries
 * none (e.g. `app.request()` in tests). Behind a proxy this is the proxy.
 */
export function remoteIp(c: Context): string {
  return remoteIpOf(c.env);
}

/**
 * The peer address in `Deno.serve`'s handler info (or anything else), or
 * `"unknown"` when it carries none.
 */
export function remoteIpOf(env: unknown): string {
  if (typeof env !== "object" || env === null) return "unknown";
  const addr: unknown = Reflect.get(env, "remoteAddr");
  if (typeof addr !== "object" || addr === null) return "unknown";
  const hostname: unknown = Reflect.get(addr, "hostname");
  return typeof hostname === "string" ? hostname : "unknown";
}
