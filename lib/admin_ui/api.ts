/**
 * The dashboard page's calls to `/admin/api`: the session cookie goes by
 * itself (HttpOnly: the page never sees it); actions carry the session's
 * CSRF token in `X-CSRF-Token`. Browser code, bundled by `build:admin`.
 *
 * @module
 */

/// <reference lib="dom" />

/** What `GET /admin/api/session` says. */
export interface SessionInfo {
  csrf: string;
  readOnly: boolean;
  node: string;
  intervalMs: number;
  seriesS: number;
}

/** A failed call: HTTP status and the server's error code. */
export class ApiError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** The `error.code` of the answer. */
  readonly code: string;
  /** Builds the error. */
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrf = "";

/** Remembers the CSRF token actions must carry. */
export function useCsrf(token: string): void {
  csrf = token;
}

async function read(res: Response): Promise<unknown> {
  const body: unknown = res.status === 204 ? null : await res.json();
  if (res.ok) return body;
  const error = typeof body === "object" && body !== null
    ? Reflect.get(body, "error")
    : undefined;
  const code = typeof error === "object" && error !== null
    ? String(Reflect.get(error, "code"))
    : "error";
  const message = typeof error === "object" && error !== null
    ? String(Reflect.get(error, "message"))
    : res.statusText;
  throw new ApiError(res.status, code, message);
}

/** `GET /admin/api<path>`. */
export async function get(path: string): Promise<unknown> {
  return await read(await fetch(`/admin/api${path}`));
}

/** `POST <url>` with JSON and the CSRF token. */
export async function post(url: string, body?: unknown): Promise<unknown> {
  return await read(
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

/** A field of an untrusted object. */
export function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null
    ? Reflect.get(value, name)
    : undefined;
}

/** A numeric field, or 0. */
export function num(value: unknown, name: string): number {
  const n = field(value, name);
  return typeof n === "number" ? n : 0;
}

/** A text field, or "". */
export function str(value: unknown, name: string): string {
  const s = field(value, name);
  return typeof s === "string" ? s : "";
}

/** An array field, or []. */
export function list(value: unknown, name: string): unknown[] {
  const a = field(value, name);
  return Array.isArray(a) ? a : [];
}

/** Creates an element with text (never HTML) and attributes. */
export function el(
  tag: string,
  text = "",
  attrs: Record<string, string> = {},
): HTMLElement {
  const node = document.createElement(tag);
  node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, value);
  }
  return node;
}

/** `12.3 MiB`, `512 B`. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
