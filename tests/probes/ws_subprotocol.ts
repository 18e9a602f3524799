/**
 * Issue #10, item 10: Node's `ws` package sends the offered subprotocols
 * joined by "," without a space, which the server used to refuse with 400
 * `bad_upgrade`, so a Node client could not pass its token as a
 * subprotocol. Connects once with `ws` offering `roomcast.v1` and
 * `roomcast.token.<jwt>` and reports the outcome (the upgrade's status and
 * the chosen protocol, then the member id of `welcome`). Loopback only, one
 * server, stops by itself.
 *
 *     deno run --allow-all tests/probes/ws_subprotocol.ts [--repo DIR]
 *
 * @module
 */

// @ts-types="npm:@types/ws@^8"
import NodeWebSocket from "npm:ws@^8";
import { probeArgs, report, startServer, token } from "./_probe.ts";

const args = probeArgs();
const SECRET = `probe-${crypto.randomUUID()}`;

await using server = await startServer(args.repo, {
  AUTH_SECRET: SECRET,
  ALLOW_ANONYMOUS: "0",
});
const jwt = await token(SECRET, "ann", 600);
const outcome = await new Promise<Record<string, unknown>>((resolve) => {
  const ws = new NodeWebSocket(server.wsUrl, [
    "roomcast.v1",
    `roomcast.token.${jwt}`,
  ]);
  const timer = setTimeout(() => {
    resolve({ outcome: "no answer within 5000 ms" });
    ws.terminate();
  }, 5_000);
  const done = (result: Record<string, unknown>) => {
    clearTimeout(timer);
    resolve(result);
  };
  ws.once("message", (data) => {
    const welcome: unknown = JSON.parse(String(data));
    done({
      outcome: "101",
      protocol: ws.protocol,
      memberId: Reflect.get(Object(welcome), "memberId"),
    });
    ws.close();
  });
  ws.once("unexpected-response", (_request, response) => {
    done({ outcome: `refused ${response.statusCode}` });
    ws.terminate();
  });
  ws.once("error", (error) => done({ outcome: `error ${error.message}` }));
});
report({ item: 10, repo: args.repo, client: "npm:ws", ...outcome });
