// deno-lint-ignore-file no-console explicit-module-boundary-types
// Mint a roomcast client token (HS256 JWT) in a Node backend, with no
// dependency: run it behind your own login, e.g. as the handler of
// GET /my-app/roomcast-token. Usage (prints one token):
//   AUTH_SECRET=... node mint_token_node.mjs <user-id> [display name]
import { createHmac } from "node:crypto";

const b64url = (data) => Buffer.from(data).toString("base64url");

/** Signs `claims` with `secret` (the server's AUTH_SECRET). */
export function mintToken(claims, secret) {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(JSON.stringify(claims));
  const signature = createHmac("sha256", secret)
    .update(`${header}.${payload}`)
    .digest("base64url");
  return `${header}.${payload}.${signature}`;
}

const [user = "ann", name = user] = process.argv.slice(2);
const secret = process.env.AUTH_SECRET ?? "";
if (secret.length < 16) {
  console.error("Set AUTH_SECRET (at least 16 characters)");
  process.exit(2);
}
console.log(mintToken({
  sub: user, // the member id
  name, // shown to others in presence
  rooms: ["lobby", `user:${user}`, "team-*"], // may join (absent: every room)
  exp: Math.floor(Date.now() / 1000) + 15 * 60, // short-lived: the SDK fetches a fresh one on reconnect
}, secret));
