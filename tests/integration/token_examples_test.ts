/**
 * The token-minting examples of docs/deploy.md run as a backend would run
 * them (issue #17: no doc showed how a backend mints the client token),
 * and a real server with AUTH_SECRET accepts what they print: the member
 * id is the token's `sub`, and its `rooms` claim is enforced. The raw
 * WebSocket example joins, publishes and gets its ack.
 */
import assert from "node:assert/strict";
import { startTestServer, TestClient } from "../_support/harness.ts";
import { SUBPROTOCOL } from "../../lib/protocol/mod.ts";

const SECRET = `examples-${crypto.randomUUID()}`;
const EXAMPLES = new URL("../../docs/examples/", import.meta.url).pathname;
const decoder = new TextDecoder();

async function mint(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, {
    args: [...args, "ann", "Ann"],
    env: { AUTH_SECRET: SECRET },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, decoder.decode(output.stderr));
  const token = decoder.decode(output.stdout).trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  return token;
}

function has(command: string): boolean {
  try {
    new Deno.Command(command, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return true;
  } catch {
    return false;
  }
}

const MINTERS: [string, string, string[], boolean][] = [
  ["Node", "node", [`${EXAMPLES}mint_token_node.mjs`], true],
  ["Deno", Deno.execPath(), [
    "run",
    "--no-config",
    "--allow-env",
    `${EXAMPLES}mint_token_deno.ts`,
  ], true],
  // Not required of every machine: run where Python is installed.
  ["Python", "python3", [`${EXAMPLES}mint_token.py`], has("python3")],
];

for (const [what, command, args, available] of MINTERS) {
  Deno.test({
    name:
      `docs/examples: a token minted by the ${what} example is accepted by a real server`,
    ignore: !available,
    async fn() {
      await using server = await startTestServer({
        env: { AUTH_SECRET: SECRET, ALLOW_ANONYMOUS: "0" },
      });
      const token = await mint(command, args);
      await using client = await TestClient.open(server.wsUrl, [
        SUBPROTOCOL,
        `roomcast.token.${token}`,
      ]);
      assert.equal(client.memberId, "ann");
      client.send({ type: "join", room: "lobby", presence: true });
      const joined = await client.next("joined");
      assert.equal(joined.members?.[0]?.id, "ann");
      assert.deepEqual(joined.members?.[0]?.meta, { name: "Ann" });
      client.send({ type: "join", room: "secret", id: "x" });
      assert.equal((await client.next("error")).code, "forbidden");
    },
  });
}

Deno.test("docs/examples/raw_websocket.mjs: a plain WebSocket joins, publishes and gets its ack", async () => {
  await using server = await startTestServer({
    env: { AUTH_SECRET: SECRET, ALLOW_ANONYMOUS: "0" },
  });
  const token = await mint(Deno.execPath(), [
    "run",
    "--no-config",
    "--allow-env",
    `${EXAMPLES}mint_token_deno.ts`,
  ]);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--allow-env",
      "--allow-net=127.0.0.1",
      `${EXAMPLES}raw_websocket.mjs`,
    ],
    env: { ROOMCAST_URL: server.wsUrl, ROOMCAST_TOKEN: token, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk);
    if (text.includes("published at offset")) break;
  }
  child.kill("SIGKILL");
  await child.status;
  await child.stderr.cancel();
  assert.match(text, /welcome as ann/);
  assert.match(text, /joined lobby at 0, 0 recent follow/);
  assert.match(text, /published at offset 1/);
});
