/**
 * Anonymous clients beside token users (issue #10, item 7): with a key
 * configured and anonymous access on (`deno task dev`), `?user=ann` used to
 * become member `ann` itself, overwrite the verified Ann's meta and keep
 * "ann" present after she left.
 */
import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import type { PresenceMember } from "../../lib/protocol/mod.ts";
import { startTestServer, TestClient } from "../_support/harness.ts";
import { upgradeStatus } from "../_support/raw_ws.ts";

const SECRET = "anonymous-identity-secret-0123456789";
const ENV = { AUTH_SECRET: SECRET, ALLOW_ANONYMOUS: "1", API_KEY: "k" };

function token(claims: Record<string, unknown>): Promise<string> {
  return signHs256(
    { exp: Math.floor(Date.now() / 1000) + 60, ...claims },
    SECRET,
  );
}

function byId(members: PresenceMember[] = []): Record<string, unknown> {
  return Object.fromEntries(members.map((m) => [m.id, m.meta]));
}

async function roomMembers(
  url: string,
  room: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/api/rooms/${room}`, {
    headers: { authorization: "Bearer k" },
  });
  assert.equal(res.status, 200);
  const members: unknown = Reflect.get(await res.json(), "members");
  assert.ok(Array.isArray(members));
  return Object.fromEntries(
    members.map((m: unknown) => [
      String(Reflect.get(Object(m), "id")),
      Reflect.get(Object(m), "meta"),
    ]),
  );
}

Deno.test("identity: an anonymous ?user=ann and the verified ann are two members; the anonymous one cannot touch her", async () => {
  await using server = await startTestServer({ env: ENV });
  const ann = await TestClient.open(server.wsUrl, [
    "roomcast.v1",
    `roomcast.token.${await token({ sub: "ann", name: "Ann" })}`,
  ]);
  assert.equal(ann.memberId, "ann");
  ann.send({ type: "join", room: "lobby", meta: { mood: "fine" } });
  await ann.next("joined");

  await using impostor = await TestClient.open(`${server.wsUrl}?user=ann`);
  assert.notEqual(impostor.memberId, "ann");
  assert.equal(impostor.memberId, "anon:ann");
  impostor.send({
    type: "join",
    room: "lobby",
    meta: { name: "Ann", mood: "hacked" },
  });
  const joined = await impostor.next("joined");
  assert.deepEqual(byId(joined.members), {
    ann: { mood: "fine", name: "Ann" },
    "anon:ann": { name: "Ann", mood: "hacked" },
  });
  // Ann sees a second member arrive, not a change of herself.
  const arrived = await ann.next("presence");
  assert.deepEqual([arrived.event, arrived.member.id], ["join", "anon:ann"]);
  assert.deepEqual((await roomMembers(server.url, "lobby")).ann, {
    mood: "fine",
    name: "Ann",
  });

  // Ann leaves: "ann" is gone, whatever the anonymous client does.
  await ann.close();
  const left = await impostor.next("presence");
  assert.deepEqual([left.event, left.member.id], ["leave", "ann"]);
  const after = await roomMembers(server.url, "lobby");
  assert.deepEqual(Object.keys(after), ["anon:ann"]);
});

Deno.test("identity: a token may not claim the anonymous namespace; anonymous ids keep within 128 characters", async () => {
  await using server = await startTestServer({ env: ENV });
  const port = server.addr.port;
  const squatter = await token({ sub: "anon:ann" });
  assert.equal(await upgradeStatus(port, `/ws?token=${squatter}`), 401);
  assert.equal(server.metrics.get("auth_failures_total", "claims"), 1);
  // "anon:" + 123 characters is the longest member id (128).
  assert.equal(await upgradeStatus(port, `/ws?user=${"u".repeat(123)}`), 101);
  assert.equal(await upgradeStatus(port, `/ws?user=${"u".repeat(124)}`), 401);
  await using random = await TestClient.open(server.wsUrl);
  assert.match(random.memberId, /^anon:[0-9a-f-]{12}$/);
});

Deno.test("identity: without a key every member is anonymous and ?user= names it as it is", async () => {
  await using server = await startTestServer();
  await using ann = await TestClient.open(`${server.wsUrl}?user=ann`);
  assert.equal(ann.memberId, "ann");
});
