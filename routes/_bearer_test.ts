import assert from "node:assert/strict";
import {
  bearerCheck,
  constantTimeEqual,
  parseBearer,
  unauthorized,
} from "./_bearer.ts";

Deno.test("bearerCheck() accepts only the exact key", async () => {
  const check = bearerCheck("s3cret-key");
  assert.equal(await check("Bearer s3cret-key"), "ok");
  assert.equal(await check("bearer s3cret-key"), "ok");
  assert.equal(await check("BEARER   s3cret-key "), "ok");
  for (
    const wrong of ["s3cret-kez", "s3cret-key2", "s3cret-ke", "", "S3CRET-KEY"]
  ) {
    assert.equal(
      await check(`Bearer ${wrong}`),
      wrong === "" ? "missing" : "invalid",
    );
  }
  assert.equal(await check(null), "missing");
  assert.equal(await check(undefined), "missing");
  assert.equal(await check("Basic czNjcmV0LWtleQ=="), "missing");
  assert.equal(await check("Bearer two words"), "missing");
  assert.throws(() => bearerCheck(""), RangeError);
});

Deno.test("parseBearer() reads the token of a Bearer header only", () => {
  assert.equal(parseBearer("Bearer abc.def"), "abc.def");
  assert.equal(parseBearer("Bearerabc"), undefined);
  assert.equal(parseBearer("Token abc"), undefined);
  assert.equal(parseBearer(` Bearer abc`), undefined);
});

Deno.test("constantTimeEqual() compares bytes and lengths", () => {
  const a = new Uint8Array([1, 2, 3]);
  assert.equal(constantTimeEqual(a, new Uint8Array([1, 2, 3])), true);
  assert.equal(constantTimeEqual(a, new Uint8Array([1, 2, 4])), false);
  assert.equal(constantTimeEqual(a, new Uint8Array([1, 2])), false);
  assert.equal(constantTimeEqual(new Uint8Array([1, 2]), a), false);
});

Deno.test("unauthorized() answers 401 with WWW-Authenticate", async () => {
  const missing = unauthorized("missing");
  assert.equal(missing.status, 401);
  assert.equal(
    missing.headers.get("www-authenticate"),
    'Bearer realm="roomcast"',
  );
  assert.equal((await missing.json()).error.code, "unauthorized");
  const invalid = unauthorized("invalid");
  assert.match(
    invalid.headers.get("www-authenticate") ?? "",
    /error="invalid_token"/,
  );
  await invalid.body?.cancel();
});
