// deno-lint-ignore-file no-console
// The wire protocol with a plain WebSocket, no SDK (docs/protocol.md):
// join a room with its recent history, publish, print what arrives.
// Usage (Node 22+ or Deno; a browser works the same):
//   ROOMCAST_URL=ws://localhost:8000/ws ROOMCAST_TOKEN=<jwt> node raw_websocket.mjs
const url = process.env.ROOMCAST_URL ?? "ws://localhost:8000/ws";
const token = process.env.ROOMCAST_TOKEN ?? "";
// The token travels as a subprotocol entry (never in a log or a header echo).
const protocols = [
  "roomcast.v1",
  ...(token ? [`roomcast.token.${token}`] : []),
];
const socket = new WebSocket(url, protocols);

socket.onmessage = ({ data }) => {
  const frame = JSON.parse(data);
  switch (frame.type) {
    case "welcome": // first frame: who we are, how often to ping
      console.log("welcome as", frame.memberId);
      socket.send(
        JSON.stringify({ type: "join", room: "lobby", history: 5, id: "j1" }),
      );
      setInterval(
        () => socket.send(JSON.stringify({ type: "ping" })),
        frame.heartbeatMs,
      );
      break;
    case "joined":
      console.log(
        `joined ${frame.room} at ${frame.offset}, ${
          frame.history ?? 0
        } recent follow`,
      );
      socket.send(
        JSON.stringify({
          type: "publish",
          room: "lobby",
          data: { text: "hello" },
          id: "p1",
        }),
      );
      break;
    case "message": // keep frame.offset: rejoin with since {offset, epoch} after a reconnect
      console.log(`#${frame.room} ${frame.offset}:`, frame.data);
      break;
    case "ack":
      console.log("published at offset", frame.offset);
      break;
    case "error":
      console.error("error", frame.code, frame.message);
      break;
  }
};
socket.onclose = ({ code, reason }) => console.log("closed", code, reason);
