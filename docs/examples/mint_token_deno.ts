// Mint a roomcast client token (HS256 JWT) in a Deno backend, with Web
// Crypto only. Usage (prints one token):
//   AUTH_SECRET=... deno run --allow-env mint_token_deno.ts <user-id> [display name]

const encoder = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Signs `claims` with `secret` (the server's AUTH_SECRET). */
export async function mintToken(
  claims: Record<string, unknown>,
  secret: string,
): Promise<string> {
  const part = (value: unknown) =>
    b64url(encoder.encode(JSON.stringify(value)));
  const input = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign(
    "HMAC",
    key,
    encoder.encode(input),
  );
  return `${input}.${b64url(new Uint8Array(signature))}`;
}

if (import.meta.main) {
  const [user = "ann", name = user] = Deno.args;
  const secret = Deno.env.get("AUTH_SECRET") ?? "";
  if (secret.length < 16) {
    // deno-lint-ignore no-console
    console.error("Set AUTH_SECRET (at least 16 characters)");
    Deno.exit(2);
  }
  // deno-lint-ignore no-console
  console.log(
    await mintToken({
      sub: user, // the member id
      name, // shown to others in presence
      rooms: ["lobby", `user:${user}`, "team-*"], // may join (absent: every room)
      exp: Math.floor(Date.now() / 1000) + 15 * 60, // short-lived
    }, secret),
  );
}
