/**
 * Issue #10, item 7: with tokens and anonymous clients both accepted, an
 * anonymous `?user=ann` used to become member `ann`, the same member as the
 * holder of a token for `ann`. Connects both and reports the two member
 * ids. Loopback only, one server, stops by itself.
 *
 *     deno run --allow-all tests/probes/anonymous_identity.ts [--repo DIR]
 *
 * @module
 */

import {
  probeArgs,
  ProbeSocket,
  report,
  startServer,
  token,
} from "./_probe.ts";

const args = probeArgs();
const SECRET = `probe-${crypto.randomUUID()}`;

await using server = await startServer(args.repo, {
  AUTH_SECRET: SECRET,
  ALLOW_ANONYMOUS: "1",
});
const jwt = await token(SECRET, "ann", 600);
await using owner = await ProbeSocket.open(server.wsUrl, [
  "roomcast.v1",
  `roomcast.token.${jwt}`,
]);
await using stranger = await ProbeSocket.open(`${server.wsUrl}?user=ann`);
const ownerId = (await owner.next("welcome")).memberId;
const strangerId = (await stranger.next("welcome")).memberId;
report({
  item: 7,
  repo: args.repo,
  tokenMemberId: ownerId,
  anonymousMemberId: strangerId,
  sameMember: ownerId === strangerId,
});
