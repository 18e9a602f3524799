/**
 * Issue #10, item 1: a token valid for 30 days. Its expiry delay is past
 * setTimeout's 2³¹−1 ms, which used to fire the expiry timer at once and
 * close the connection right after `welcome`. Opens one connection with
 * such a token (as a subprotocol) and reports whether it is still open
 * after `SECONDS`. Loopback only, one server, stops by itself.
 *
 *     deno run --allow-all tests/probes/long_token.ts [--repo DIR] [SECONDS=3]
 *
 * @module
 */

import {
  delay,
  numberArg,
  probeArgs,
  ProbeSocket,
  report,
  startServer,
  token,
} from "./_probe.ts";

const args = probeArgs();
const seconds = numberArg(args, 0, 3);
const SECRET = `probe-${crypto.randomUUID()}`;

await using server = await startServer(args.repo, {
  AUTH_SECRET: SECRET,
  ALLOW_ANONYMOUS: "0",
});
const jwt = await token(SECRET, "ann", 30 * 86_400);
await using ws = await ProbeSocket.open(server.wsUrl, [
  "roomcast.v1",
  `roomcast.token.${jwt}`,
]);
const welcome = await ws.next("welcome");
const outcome = await Promise.race([ws.closed, delay(seconds * 1000)]);
report({
  item: 1,
  repo: args.repo,
  memberId: welcome.memberId,
  outcome: outcome === undefined
    ? `open after ${seconds * 1000} ms`
    : `closed ${outcome.code} after ${outcome.ms} ms`,
});
