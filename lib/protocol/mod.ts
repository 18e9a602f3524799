/**
 * The roomcast wire protocol, version 1, shared by the server and the client
 * SDK (browser compatible: no `Deno.*`): client ↔ server messages and their
 * parsers, close and error codes, JSON values, and the presence messages
 * nodes exchange over the bus. This module only re-exports; see
 * `docs/protocol.md`.
 *
 * @module
 */

export * from "./codes.ts";
export * from "./json.ts";
export * from "./messages.ts";
export * from "./parse_client.ts";
export * from "./parse_server.ts";
export * from "./node_stats_wire.ts";
export * from "./presence_wire.ts";
export * from "./sse_wire.ts";
export * from "./welcome_wire.ts";
