/**
 * `GET /client-config`: what a browser page needs to know before it
 * connects, so the chat demo can say why it cannot (no secrets: whether a
 * token is needed, whether this server mints demo tokens, the limits a
 * client shows).
 *
 * @module
 */

import type { Hono } from "hono";

/** The body of `GET /client-config`. */
export interface ClientConfig {
  /** Whether an upgrade without a token is refused (401). */
  tokenRequired: boolean;
  /** Whether `POST /token` mints demo tokens here (`deno task dev` only). */
  demoTokens: boolean;
  /** Largest frame a client may send, bytes (`MAX_MESSAGE_BYTES`). */
  maxMessageBytes: number;
  /** Where a deployment's token endpoint is explained. */
  tokenDocs: string;
}

/** Mounts `GET /client-config`, answering `config` (fixed at startup). */
export function mountClientConfig(app: Hono, config: ClientConfig): void {
  const body = JSON.stringify(config);
  app.get("/client-config", () =>
    new Response(body, {
      headers: {
        "content-type": "application/json",
        "cache-control": "no-store",
      },
    }));
}
