/**
 * A raw WebSocket upgrade request over TCP, to see what a browser cannot:
 * the HTTP status and headers of a refused (or accepted) handshake.
 *
 * @module
 */

/** The server's answer to an upgrade request. */
export interface UpgradeAnswer {
  status: number;
  headers: Headers;
  /** The open TCP connection (close it, or keep it as a socket that never reads). */
  conn: Deno.TcpConn;
}

/** Sends an upgrade request for `path` with extra `headers` and reads the answer's head. */
export async function rawUpgrade(
  port: number,
  path = "/ws",
  headers: Record<string, string> = {},
): Promise<UpgradeAnswer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "",
    "",
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n")));
  let head = "";
  const buffer = new Uint8Array(4096);
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) break;
    head += new TextDecoder().decode(buffer.subarray(0, n));
  }
  const [statusLine = "", ...rest] = head.split("\r\n\r\n")[0]!.split("\r\n");
  const parsed = new Headers();
  for (const line of rest) {
    const i = line.indexOf(":");
    if (i > 0) parsed.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers: parsed, conn };
}

/** Sends an upgrade request and returns only the status (closing the connection). */
export async function upgradeStatus(
  port: number,
  path = "/ws",
  headers: Record<string, string> = {},
): Promise<number> {
  const answer = await rawUpgrade(port, path, headers);
  answer.conn.close();
  return answer.status;
}
