/**
 * Subprotocol negotiation with clients other than browsers (issue #10, item
 * 10): Node's `ws` package joins the offered protocols with "," (no space),
 * which `Deno.upgradeWebSocket` used to refuse with 400 `bad_upgrade`.
 */
import assert from "node:assert/strict";
// @ts-types="npm:@types/ws@^8"
import NodeWebSocket from "npm:ws@^8";
import { signHs256 } from "../../lib/support/auth.ts";
import { startTestServer } from "../_support/harness.ts";
import { rawRequest, upgradeRequest } from "../_support/raw_ws.ts";

const SECRET = "interop-test-secret-0123456789";
const SECURE = { AUTH_SECRET: SECRET, ALLOW_ANONYMOUS: "0" };

function token(sub: string): Promise<string> {
  return signHs256({ sub, exp: Math.floor(Date.now() / 1000) + 60 }, SECRET);
}

/** A `ws` client that queues JSON messages from the start, so none is missed. */
class NodeClient {
  readonly socket: NodeWebSocket;
  readonly #queue: Record<string, unknown>[] = [];
  #wake: (() => void) | undefined;
  #ended: string | undefined;

  private constructor(socket: NodeWebSocket) {
    this.socket = socket;
    socket.on("message", (data) => {
      const parsed: unknown = JSON.parse(String(data));
      if (typeof parsed === "object" && parsed !== null) {
        this.#queue.push({ ...parsed });
      }
      this.#wake?.();
    });
    socket.on("close", (code) => {
      this.#ended = `closed with ${code}`;
      this.#wake?.();
    });
  }

  /** Opens a `ws` client; rejects with the status of a refused upgrade. */
  static open(url: string, protocols: string[]): Promise<NodeClient> {
    const client = new NodeClient(new NodeWebSocket(url, protocols));
    return new Promise((resolve, reject) => {
      client.socket.once("open", () => resolve(client));
      client.socket.once("unexpected-response", (_request, response) => {
        reject(new Error(`Upgrade refused: ${response.statusCode}`));
        client.socket.terminate();
      });
      client.socket.once("error", reject);
    });
  }

  /** The next JSON message; rejects once the socket has closed. */
  async next(): Promise<Record<string, unknown>> {
    while (true) {
      const message = this.#queue.shift();
      if (message !== undefined) return message;
      if (this.#ended !== undefined) throw new Error(this.#ended);
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.socket.once("close", resolve));
    this.socket.close();
    await closed;
  }
}

Deno.test("interop: Node's ws client sends its token as a subprotocol; roomcast.v1 is echoed, never the token", async () => {
  await using server = await startTestServer({ env: SECURE });
  const jwt = await token("ann");
  const client = await NodeClient.open(server.wsUrl, [
    "roomcast.v1",
    `roomcast.token.${jwt}`,
  ]);
  try {
    assert.equal(client.socket.protocol, "roomcast.v1");
    const welcome = await client.next();
    assert.equal(welcome.type, "welcome");
    assert.equal(welcome.memberId, "ann");
    client.socket.send(JSON.stringify({ type: "ping", id: "p1" }));
    const pong = await client.next();
    assert.deepEqual([pong.type, pong.id], ["pong", "p1"]);
  } finally {
    await client.close();
  }
  assert.equal(server.metrics.total("auth_failures_total"), 0);
});

Deno.test("interop: Node's ws client negotiates roomcast.v1.batch, and anonymous roomcast.v1", async () => {
  await using server = await startTestServer();
  const batch = await NodeClient.open(server.wsUrl, [
    "roomcast.v1.batch",
    "roomcast.v1",
  ]);
  assert.equal(batch.socket.protocol, "roomcast.v1.batch");
  await batch.close();
  const plain = await NodeClient.open(`${server.wsUrl}?user=ann`, [
    "roomcast.v1",
  ]);
  assert.equal(plain.socket.protocol, "roomcast.v1");
  assert.equal((await plain.next()).memberId, "ann");
  await plain.close();
});

Deno.test("interop: every RFC 7230 list form of Sec-WebSocket-Protocol negotiates the same way", async () => {
  await using server = await startTestServer({ env: SECURE });
  const port = server.addr.port;
  const jwt = await token("ann");
  const t = `roomcast.token.${jwt}`;
  const forms: Array<[string, string[]]> = [
    ["a, b", [`roomcast.v1, ${t}`]],
    ["a,b", [`roomcast.v1,${t}`]],
    ["a ,b", [`roomcast.v1 ,${t}`]],
    ["a\t,\tb", [`roomcast.v1\t,\t${t}`]],
    ["empty elements", [`,roomcast.v1,,${t},`]],
    ["token first", [`${t},roomcast.v1`]],
    ["two header lines", ["roomcast.v1", t]],
    ["two lines, lists in each", [`x.other,roomcast.v1`, `${t} ,y.other`]],
  ];
  for (const [name, lines] of forms) {
    const request = upgradeRequest(port, "/ws").replace(
      /\r\n\r\n$/,
      lines.map((l) => `\r\nsec-websocket-protocol: ${l}`).join("") +
        "\r\n\r\n",
    );
    const answer = await rawRequest(port, request);
    assert.equal(answer.kind, "response", name);
    if (answer.kind !== "response") continue;
    assert.equal(answer.status, 101, name);
    assert.equal(
      answer.headers.get("sec-websocket-protocol"),
      "roomcast.v1",
      name,
    );
  }
  // Without roomcast.v1 in the list: served, with no protocol answered.
  const bare = await rawRequest(
    port,
    upgradeRequest(port, "/ws", { "sec-websocket-protocol": `${t},other` }),
  );
  assert.ok(bare.kind === "response");
  assert.equal(bare.status, 101);
  assert.equal(bare.headers.get("sec-websocket-protocol"), null);
});
