import assert from "node:assert/strict";
import {
  apiStringToSign,
  channelAuth,
  hmacHex,
  md5Hex,
  safeEqual,
  signinAuth,
  verifyChannelAuth,
} from "./signature.ts";

// The vectors of Pusher's auth-signatures and REST API docs.
const KEY = "278d425bdf160c739803";
const SECRET = "7ad3773142a6692b25b8";

Deno.test("channelAuth() matches Pusher's private channel vector", () => {
  assert.equal(
    channelAuth(KEY, SECRET, "1234.1234", "private-foobar"),
    `${KEY}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4`,
  );
});

Deno.test("channelAuth() matches Pusher's presence vector (user name Mr. Pusher)", () => {
  const channelData = JSON.stringify({
    user_id: 10,
    user_info: { name: "Mr. Pusher" },
  });
  assert.equal(
    channelAuth(KEY, SECRET, "1234.1234", "presence-foobar", channelData),
    `${KEY}:afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c`,
  );
});

Deno.test("verifyChannelAuth() accepts the right signature and nothing else", () => {
  const good = channelAuth(KEY, SECRET, "1.2", "private-a");
  assert.ok(verifyChannelAuth(good, KEY, SECRET, "1.2", "private-a"));
  assert.ok(!verifyChannelAuth(good, KEY, SECRET, "1.3", "private-a"));
  assert.ok(!verifyChannelAuth(good, KEY, SECRET, "1.2", "private-b"));
  assert.ok(!verifyChannelAuth(good, KEY, "other", "1.2", "private-a"));
  assert.ok(!verifyChannelAuth(`${good}0`, KEY, SECRET, "1.2", "private-a"));
  assert.ok(!verifyChannelAuth("", KEY, SECRET, "1.2", "private-a"));
});

Deno.test("signinAuth() signs socket_id::user::user_data", () => {
  const data = '{"id":"7"}';
  assert.equal(
    signinAuth(KEY, SECRET, "1.2", data),
    `${KEY}:${hmacHex(SECRET, `1.2::user::${data}`)}`,
  );
});

Deno.test("md5Hex() and apiStringToSign() match Pusher's REST API vector", () => {
  const body =
    '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
  assert.equal(md5Hex(body), "ec365a775a4cd0599faeb73354201b6f");
  const text = apiStringToSign("post", "/apps/3/events", [
    ["body_md5", md5Hex(body)],
    ["auth_version", "1.0"],
    ["auth_signature", "ignored"],
    ["auth_key", KEY],
    ["Auth_Timestamp", "1353088179"],
  ]);
  assert.equal(
    text,
    `POST\n/apps/3/events\nauth_key=${KEY}&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f`,
  );
  assert.equal(
    hmacHex(SECRET, text),
    "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
  );
});

Deno.test("safeEqual() compares whole strings", () => {
  assert.ok(safeEqual("abc", "abc"));
  assert.ok(!safeEqual("abc", "abd"));
  assert.ok(!safeEqual("abc", "ab"));
  assert.ok(!safeEqual("é", "e"));
});
