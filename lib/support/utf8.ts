/**
 * UTF-8 size check for inbound frames (internal to `lib/`).
 *
 * @module
 */

/**
 * Whether `text` takes more than `limit` bytes in UTF-8. Decided from
 * `text.length` alone when it can be (one to three bytes per UTF-16 unit);
 * otherwise counts, stopping as soon as the limit is passed.
 */
export function exceedsUtf8Bytes(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4; // a surrogate pair: one 4-byte code point
      i += 1;
    } else bytes += 3;
    if (bytes > limit) return true;
  }
  return false;
}
