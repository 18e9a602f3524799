/**
 * Reading a body of bounded size: the request bodies of the HTTP routes and
 * the SDK's reading of a server's answer share it.
 *
 * @module
 */

/**
 * Reads a body, keeping at most `limit` bytes: returns undefined (and
 * cancels the stream) as soon as more than `limit` bytes arrived, whatever
 * `Content-Length` said, so a chunked or lying body is never buffered whole.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { readAtMost } from "./read_at_most.ts";
 *
 * const body = () => new Response("hello").body;
 * assert.equal(new TextDecoder().decode(await readAtMost(body(), 5)), "hello");
 * assert.equal(await readAtMost(body(), 4), undefined);
 * ```
 */
export async function readAtMost(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (body === null) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
