/** Tests of the query and cookie reading behind a `/ws` client's identity. */
import assert from "node:assert/strict";
import { AuthError } from "../lib/support/auth.ts";
import { identifyRequest, queryParam } from "./_identity.ts";

Deno.test("queryParam reads the first parameter, decoded, and only from the query", () => {
  assert.equal(queryParam("http://h/ws?user=a%20b&user=c", "user"), "a b");
  assert.equal(queryParam("http://h/ws?x=1&token=t+k", "token"), "t k");
  assert.equal(queryParam("http://h/ws?user", "user"), "");
  assert.equal(queryParam("http://h/ws?xuser=a", "user"), undefined);
  assert.equal(queryParam("http://h/user=a", "user"), undefined);
  assert.equal(queryParam("http://h/ws?room=a#user=b", "user"), undefined);
});

Deno.test("identifyRequest takes ?user=, the cookie's token, and refuses an empty user", () => {
  const anon = identifyRequest(
    new Request("http://h/ws?user=ann"),
    [],
    undefined,
    true,
  );
  assert.deepEqual(anon, { memberId: "ann" });
  assert.throws(
    () => identifyRequest(new Request("http://h/ws?user"), [], undefined, true),
    AuthError,
  );
  const cookie = new Request("http://h/ws", {
    headers: { cookie: "a=1; roomcast_token=tok" },
  });
  let seen = "";
  const who = identifyRequest(cookie, [], (token) => {
    seen = token;
    return Promise.resolve({
      id: "bob",
      canJoin: () => true,
      canPublish: () => true,
    });
  }, false);
  assert.ok(who instanceof Promise);
  assert.equal(seen, "tok");
});
