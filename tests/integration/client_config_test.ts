/**
 * `GET /client-config` tells a page, before it connects, whether it needs a
 * token and whether this server mints demo ones (issue #17: under
 * `deno task start` with AUTH_SECRET the demo page retried a 401 for ever
 * without saying why). It never carries a secret.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../_support/harness.ts";

const SECRET = "client-config-secret-0123456789";

Deno.test("GET /client-config: a token is required with AUTH_SECRET and no anonymous clients; no secret in the body", async () => {
  await using server = await startTestServer({
    env: {
      AUTH_SECRET: SECRET,
      ALLOW_ANONYMOUS: "0",
      API_KEY: "api-key-0123456789",
    },
  });
  const response = await fetch(`${server.url}/client-config`);
  assert.equal(response.status, 200);
  const text = await response.text();
  const body: unknown = JSON.parse(text);
  assert.equal(Reflect.get(Object(body), "tokenRequired"), true);
  assert.equal(Reflect.get(Object(body), "demoTokens"), false);
  assert.equal(Reflect.get(Object(body), "maxMessageBytes"), 65_536);
  assert.match(
    String(Reflect.get(Object(body), "tokenDocs")),
    /docs\/deploy\.md/,
  );
  assert.equal(text.includes(SECRET), false);
  assert.equal(text.includes("api-key-0123456789"), false);
});

Deno.test("GET /client-config: anonymous servers need no token", async () => {
  await using server = await startTestServer({ env: { ALLOW_ANONYMOUS: "1" } });
  const body: unknown = await (await fetch(`${server.url}/client-config`))
    .json();
  assert.equal(Reflect.get(Object(body), "tokenRequired"), false);
  assert.equal(Reflect.get(Object(body), "demoTokens"), false);
});
