import assert from "node:assert/strict";
import { DEFAULT_APP_LIMITS, type PusherApp } from "../support/pusher_apps.ts";
import { requestAuthError } from "./request_auth.ts";
import { apiStringToSign, hmacHex, md5Hex } from "./signature.ts";

// Pusher's REST API worked example.
const app: PusherApp = {
  ...DEFAULT_APP_LIMITS,
  id: "3",
  key: "278d425bdf160c739803",
  secret: "7ad3773142a6692b25b8",
};
const body = new TextEncoder().encode(
  '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}',
);
const signed = (extra: Record<string, string> = {}) => {
  const params = new URLSearchParams({
    "auth_key": app.key,
    "auth_timestamp": "1353088179",
    "auth_version": "1.0",
    "body_md5": md5Hex(body),
    ...extra,
  });
  params.set(
    "auth_signature",
    hmacHex(app.secret, apiStringToSign("POST", "/apps/3/events", params)),
  );
  return params;
};
const at = 1353088179_000;

Deno.test("requestAuthError() accepts Pusher's signed example", () => {
  const params = signed();
  assert.equal(
    params.get("auth_signature"),
    "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
  );
  assert.equal(
    requestAuthError(app, "POST", "/apps/3/events", params, body, at),
    undefined,
  );
  // 600 s either way is still fine.
  assert.equal(
    requestAuthError(app, "POST", "/apps/3/events", params, body, at + 600_000),
    undefined,
  );
});

Deno.test("requestAuthError() refuses forged, stale and tampered requests", () => {
  const check = (
    params: URLSearchParams,
    options: { body?: Uint8Array; now?: number; path?: string } = {},
  ) =>
    requestAuthError(
      app,
      "POST",
      options.path ?? "/apps/3/events",
      params,
      options.body ?? body,
      options.now ?? at,
    );
  const forged = signed();
  forged.set("auth_signature", "0".repeat(64));
  assert.equal(check(forged), "Invalid signature");
  assert.match(
    String(check(signed(), { now: at + 601_000 })),
    /Timestamp expired/,
  );
  assert.match(
    String(check(signed(), { now: at - 601_000 })),
    /Timestamp expired/,
  );
  assert.match(
    String(check(signed(), { body: new TextEncoder().encode("{}") })),
    /body_md5/,
  );
  assert.equal(
    check(signed(), { path: "/apps/3/batch_events" }),
    "Invalid signature",
  );
  const otherKey = signed({ "auth_key": "nope" });
  assert.equal(check(otherKey), "Unknown auth_key");
  const missing = signed();
  missing.delete("auth_signature");
  assert.match(String(check(missing)), /Missing/);
  // A parameter added after signing breaks the signature.
  const added = signed();
  added.set("socket_id", "1.1");
  assert.equal(check(added), "Invalid signature");
});
