/**
 * The Lua scripts of the Redis room log. Each runs atomically inside Redis,
 * so offsets stay unique and gap-free whichever process appends, and a
 * room's epoch is created exactly once per sequence.
 *
 * Every script first makes sure the room's head exists. A missing head (a
 * new room, an idle room whose head expired, or a Redis that lost its data)
 * starts a new sequence: the candidate epoch from the caller, offset 0, and
 * any leftover stream of an older sequence is deleted.
 *
 * @module
 */

/** A Lua script and its SHA-1, for `EVALSHA` with an `EVAL` fallback. */
export interface LuaScript {
  /** Short name, for errors. */
  name: string;
  source: string;
  /** Hex SHA-1 of `source`. */
  sha: Promise<string>;
}

// KEYS[1] head hash, KEYS[2] log stream; returns epoch, offset (a string).
const ENSURE_HEAD = `
local function ensure_head(candidate, meta_ttl)
  local h = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
  if h[1] and h[2] then return h[1], h[2] end
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', candidate, 'offset', '0')
  redis.call('PEXPIRE', KEYS[1], meta_ttl)
  return candidate, '0'
end
`;

/**
 * Appends a batch. ARGV: candidate epoch, max messages, log TTL (ms), head
 * TTL (ms), item count, the floor (the highest position of the room the
 * caller knows: epoch and offset, `""` and 0 when none), then five per item:
 * ts, order (`o`: the offset comes first in the frame, `e`: the epoch does)
 * and the three pieces of the frame around them. Returns `{epoch, first
 * offset}`.
 *
 * A head behind the floor in the floor's epoch means Redis lost
 * acknowledged messages (a failover to a replica that had not received
 * them): reusing those offsets would make every node take the new messages
 * for duplicates, so the room starts a new sequence instead (new epoch,
 * offset 0, old stream deleted) and the loss is told by the epoch change.
 */
export const APPEND: LuaScript = script(
  "append",
  `${ENSURE_HEAD}
local epoch, offset = ensure_head(ARGV[1], ARGV[4])
if epoch == ARGV[6] and tonumber(offset) < tonumber(ARGV[7]) then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'offset', '0')
  epoch = ARGV[1]
end
local count = tonumber(ARGV[5])
local last = redis.call('HINCRBY', KEYS[1], 'offset', count)
local first = last - count + 1
for i = 0, count - 1 do
  local a = 8 + i * 5
  local offset = string.format('%.0f', first + i)
  local frame
  if ARGV[a + 1] == 'o' then
    frame = ARGV[a + 2] .. offset .. ARGV[a + 3] .. epoch .. ARGV[a + 4]
  else
    frame = ARGV[a + 2] .. epoch .. ARGV[a + 3] .. offset .. ARGV[a + 4]
  end
  redis.call('XADD', KEYS[2], offset .. '-0', 't', ARGV[a], 'f', frame)
end
local keep = tonumber(ARGV[2])
if last > keep then
  redis.call('XTRIM', KEYS[2], 'MINID', string.format('%.0f', last - keep + 1))
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {epoch, first}
`,
);

/** Reads (or creates) the head. ARGV: candidate epoch, head TTL. Returns `{epoch, offset}`. */
export const HEAD: LuaScript = script(
  "head",
  `${ENSURE_HEAD}
local epoch, offset = ensure_head(ARGV[1], ARGV[2])
return {epoch, offset}
`,
);

/**
 * Reads the head and, when the position is in its epoch and behind it, the
 * stored entries after the position. ARGV: candidate epoch, head TTL,
 * position epoch, position offset. Returns `{epoch, offset, entries}`, each
 * entry `[id, [field, value, ...]]` as `XRANGE` gives it.
 */
export const SINCE: LuaScript = script(
  "since",
  `${ENSURE_HEAD}
local epoch, offset = ensure_head(ARGV[1], ARGV[2])
local entries = {}
local after = tonumber(ARGV[4])
if epoch == ARGV[3] and after < tonumber(offset) then
  entries = redis.call('XRANGE', KEYS[2], string.format('%.0f', after + 1), offset)
end
return {epoch, offset, entries}
`,
);

/**
 * Drops every stored entry of a room (up to its head), leaving the head
 * alone; a room without a head has none. No ARGV. Returns how many went.
 */
export const DROP: LuaScript = script(
  "drop",
  `
local offset = redis.call('HGET', KEYS[1], 'offset')
if not offset then return 0 end
return redis.call('XTRIM', KEYS[2], 'MINID', string.format('%.0f', tonumber(offset) + 1))
`,
);

function script(name: string, source: string): LuaScript {
  return { name, source, sha: sha1(source) };
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(text),
  );
  return Array.from(
    new Uint8Array(digest),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}
