import assert from "node:assert/strict";
import { DEMO_APP } from "../support/pusher_apps.ts";
import { signinAuth } from "./signature.ts";
import { checkSignin } from "./signin.ts";

const app = DEMO_APP;
const userData = JSON.stringify({ id: "alice", user_info: { name: "A" } });

Deno.test("checkSignin() grants a signed user_data and reads its id", () => {
  const auth = signinAuth(app.key, app.secret, "1.2", userData);
  assert.deepEqual(
    checkSignin(app, "1.2", { auth, "user_data": userData }),
    { ok: true, userId: "alice", userData },
  );
});

Deno.test("checkSignin() refuses forged, foreign and malformed sign-ins", () => {
  const auth = signinAuth(app.key, app.secret, "1.2", userData);
  // Another socket's signature, or tampered data: 4009.
  for (
    const [socketId, data] of [["1.3", userData], ["1.2", userData + " "]]
  ) {
    const verdict = checkSignin(app, socketId!, { auth, "user_data": data! });
    assert.equal(!verdict.ok && verdict.code, 4009);
  }
  assert.equal(checkSignin(app, "1.2", { auth }).ok, false);
  assert.equal(checkSignin(app, "1.2", undefined).ok, false);
  // Signed, but no usable id: refused without 4009.
  for (const bad of ["[1]", '{"id":""}', '{"id":"a b"}', "nope"]) {
    const signed = signinAuth(app.key, app.secret, "1.2", bad);
    const verdict = checkSignin(app, "1.2", { auth: signed, "user_data": bad });
    assert.equal(verdict.ok, false, bad);
    assert.equal(!verdict.ok && verdict.code, null, bad);
  }
});
