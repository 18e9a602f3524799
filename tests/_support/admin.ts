/**
 * Helpers of the dashboard tests: log in over HTTP as a page would, and
 * send actions with the session cookie, Origin and CSRF token.
 *
 * @module
 */

import assert from "node:assert/strict";

/** A logged-in HTTP session against one server. */
export interface AdminSession {
  url: string;
  cookie: string;
  csrf: string;
  /** A GET under `/admin/api`, with the cookie. */
  get(path: string): Promise<Response>;
  /** A POST under `/admin/api`, with cookie, own Origin and CSRF token (each overridable). */
  post(
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
}

/** Logs in to `url` with `token`; throws unless it is accepted. */
export async function adminLogin(
  url: string,
  token: string,
): Promise<AdminSession> {
  const res = await fetch(`${url}/admin/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: url },
    body: JSON.stringify({ token }),
  });
  assert.equal(res.status, 200, await res.text());
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const session = await fetch(`${url}/admin/api/session`, {
    headers: { cookie },
  });
  assert.equal(session.status, 200);
  const { csrf } = await session.json();
  return {
    url,
    cookie,
    csrf,
    get: (path) => fetch(`${url}/admin/api${path}`, { headers: { cookie } }),
    post: (path, body, headers = {}) =>
      fetch(`${url}/admin/api${path}`, {
        method: "POST",
        headers: {
          cookie,
          origin: url,
          "x-csrf-token": csrf,
          "content-type": "application/json",
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
  };
}

/** Polls `read` until `ok` holds for its value (bounded); returns the value. */
export async function until<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!ok(value)) {
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for ${what}: ${JSON.stringify(value)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}
