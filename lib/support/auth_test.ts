import assert from "node:assert/strict";
import { AuthError, createVerifier, matchesAny, signHs256 } from "./auth.ts";

const SECRET = "test-secret-of-decent-length";
const NOW = 1_800_000_000_000;

function b64url(data: string | Uint8Array): string {
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : data;
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replace(/=+$/, "");
}

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AuthError, String(error));
    return error.reason;
  }
  return "accepted";
}

Deno.test("createVerifier() accepts a good HS256 token and reads its claims", async () => {
  const verify = await createVerifier({
    algorithm: "HS256",
    key: SECRET,
    now: () => NOW,
  });
  const token = await signHs256({
    sub: "ann",
    name: "Ann",
    rooms: ["team:*", "lobby"],
    publish: ["team:blue"],
    exp: NOW / 1000 + 60,
  }, SECRET);
  const ann = await verify(token);
  assert.equal(ann.id, "ann");
  assert.equal(ann.name, "Ann");
  assert.equal(ann.expiresAt, NOW + 60_000);
  assert.equal(ann.canJoin("lobby"), true);
  assert.equal(ann.canJoin("team:red"), true);
  assert.equal(ann.canJoin("secret"), false);
  assert.equal(ann.canPublish("team:blue"), true);
  assert.equal(ann.canPublish("lobby"), false);
});

Deno.test("createVerifier() refuses forged, confused and malformed tokens", async () => {
  const verify = await createVerifier({
    algorithm: "HS256",
    key: SECRET,
    now: () => NOW,
  });
  const good = await signHs256({ sub: "ann" }, SECRET);
  const [head, body] = good.split(".");
  const other = await signHs256({ sub: "ann" }, "some-other-secret-value");
  const admin = b64url(JSON.stringify({ sub: "admin" }));
  const none = `${b64url('{"alg":"none","typ":"JWT"}')}.${body}.`;
  const rs = `${b64url('{"alg":"RS256","typ":"JWT"}')}.${body}.${
    good.split(".")[2]
  }`;
  const cases: Array<[string, string]> = [
    [other, "signature"], // signed with another secret
    [`${head}.${admin}.${good.split(".")[2]}`, "signature"], // claims swapped
    [none, "algorithm"], // alg: none
    [rs, "algorithm"], // algorithm confusion
    ["a.b", "malformed"],
    ["", "malformed"],
    [`${head}.${body}.%%%`, "signature"],
    [`not-base64!.${body}.x`, "algorithm"],
  ];
  for (const [token, expected] of cases) {
    assert.equal(await reason(verify(token)), expected, token);
  }
});

Deno.test("createVerifier() checks exp and nbf with leeway", async () => {
  const verify = await createVerifier({
    algorithm: "HS256",
    key: SECRET,
    leewayS: 30,
    now: () => NOW,
  });
  const at = (claims: Record<string, unknown>) =>
    signHs256({ sub: "a", ...claims }, SECRET);
  assert.equal(
    await reason(verify(await at({ exp: NOW / 1000 - 10 }))),
    "accepted",
  );
  assert.equal(
    await reason(verify(await at({ exp: NOW / 1000 - 31 }))),
    "expired",
  );
  assert.equal(
    await reason(verify(await at({ nbf: NOW / 1000 + 10 }))),
    "accepted",
  );
  assert.equal(
    await reason(verify(await at({ nbf: NOW / 1000 + 600 }))),
    "not_yet_valid",
  );
  assert.equal(await reason(verify(await at({ exp: "tomorrow" }))), "claims");
});

Deno.test("createVerifier() checks audience, issuer and claim shapes", async () => {
  const verify = await createVerifier({
    algorithm: "HS256",
    key: SECRET,
    audience: "roomcast",
    issuer: "https://auth.example",
    now: () => NOW,
  });
  const ok = { sub: "a", aud: "roomcast", iss: "https://auth.example" };
  const sign = (claims: Record<string, unknown>) => signHs256(claims, SECRET);
  assert.equal(await reason(verify(await sign(ok))), "accepted");
  assert.equal(
    await reason(verify(await sign({ ...ok, aud: ["x", "roomcast"] }))),
    "accepted",
  );
  assert.equal(
    await reason(verify(await sign({ ...ok, aud: "other" }))),
    "audience",
  );
  assert.equal(
    await reason(verify(await sign({ ...ok, iss: "evil" }))),
    "issuer",
  );
  assert.equal(await reason(verify(await sign({ ...ok, sub: "" }))), "claims");
  assert.equal(await reason(verify(await sign({ ...ok, sub: 42 }))), "claims");
  assert.equal(
    await reason(verify(await sign({ ...ok, rooms: "lobby" }))),
    "claims",
  );
  assert.equal(
    await reason(verify(await sign({ ...ok, name: { x: 1 } }))),
    "claims",
  );
});

for (const algorithm of ["RS256", "ES256"] as const) {
  Deno.test(`createVerifier() checks ${algorithm} tokens against a PEM public key`, async () => {
    const params = algorithm === "RS256"
      ? {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      }
      : { name: "ECDSA", namedCurve: "P-256" };
    const pair = await crypto.subtle.generateKey(params, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const spki = new Uint8Array(
      await crypto.subtle.exportKey("spki", pair.publicKey),
    );
    const pem = `-----BEGIN PUBLIC KEY-----\n${
      btoa(String.fromCharCode(...spki))
    }\n-----END PUBLIC KEY-----`;
    const head = b64url(JSON.stringify({ alg: algorithm, typ: "JWT" }));
    const body = b64url(JSON.stringify({ sub: "svc" }));
    const sig = await crypto.subtle.sign(
      algorithm === "RS256"
        ? "RSASSA-PKCS1-v1_5"
        : { name: "ECDSA", hash: "SHA-256" },
      pair.privateKey,
      new TextEncoder().encode(`${head}.${body}`),
    );
    const token = `${head}.${body}.${b64url(new Uint8Array(sig))}`;
    const verify = await createVerifier({ algorithm, key: pem });
    assert.equal((await verify(token)).id, "svc");
    // An HS256 token "signed" with the public key text must not pass.
    const confused = await signHs256({ sub: "svc" }, pem);
    assert.equal(await reason(verify(confused)), "algorithm");
  });
}

Deno.test("matchesAny() matches exact names and * prefixes only", () => {
  assert.ok(matchesAny("team:blue", ["team:*"]));
  assert.ok(matchesAny("lobby", ["lobby"]));
  assert.ok(!matchesAny("lobby2", ["lobby"]));
  assert.ok(!matchesAny("xteam:blue", ["team:*"]));
  assert.ok(matchesAny("anything", ["*"]));
  assert.ok(!matchesAny("a", []));
});
