/**
 * The Lua scripts of the Redis webhook store (internal). Every key of the
 * store shares one hash tag, so the scripts also run on a Redis Cluster.
 * An entry is stored as `<size>:<json>` in a hash, its due time in a sorted
 * set; a counter key holds the queued bytes.
 *
 * @module
 */

import type { LuaScript } from "../redis/scripts.ts";

function script(name: string, source: string): LuaScript {
  const sha = crypto.subtle.digest("SHA-1", new TextEncoder().encode(source))
    .then((digest) =>
      Array.from(
        new Uint8Array(digest),
        (byte) => byte.toString(16).padStart(2, "0"),
      ).join("")
    );
  return { name, source, sha };
}

/**
 * KEYS: queue hash, due zset, bytes, id counter, state key. ARGV: max
 * entries, max bytes, has state (1/0), state value, delete (1/0), state TTL
 * ms, n, then json, due, size per entry. Returns queued, full or unchanged.
 */
export const PUSH: LuaScript = script(
  "webhook_push",
  `
if ARGV[3] == '1' then
  local cur = redis.call('GET', KEYS[5])
  if ARGV[5] == '1' then
    if not cur then return 'unchanged' end
    redis.call('DEL', KEYS[5])
  else
    if cur == ARGV[4] then
      redis.call('PEXPIRE', KEYS[5], ARGV[6])
      return 'unchanged'
    end
    redis.call('SET', KEYS[5], ARGV[4], 'PX', ARGV[6])
  end
end
local n = tonumber(ARGV[7])
if n == 0 then return 'queued' end
local bytes = 0
for i = 0, n - 1 do bytes = bytes + tonumber(ARGV[10 + i * 3]) end
local held = tonumber(redis.call('GET', KEYS[3]) or '0')
if redis.call('HLEN', KEYS[1]) + n > tonumber(ARGV[1]) or held + bytes > tonumber(ARGV[2]) then
  return 'full'
end
for i = 0, n - 1 do
  local id = string.format('%016d', redis.call('INCR', KEYS[4]))
  redis.call('HSET', KEYS[1], id, ARGV[10 + i * 3] .. ':' .. ARGV[8 + i * 3])
  redis.call('ZADD', KEYS[2], ARGV[9 + i * 3], id)
end
redis.call('INCRBY', KEYS[3], bytes)
return 'queued'
`,
);

/** KEYS: lease. ARGV: owner, TTL ms. Returns 1 when `owner` holds it now. */
export const LEASE: LuaScript = script(
  "webhook_lease",
  `
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`,
);

/** KEYS: lease. ARGV: owner. Deletes the lease if `owner` holds it. */
export const RELEASE: LuaScript = script(
  "webhook_release",
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`,
);

/**
 * KEYS: queue hash, due zset. ARGV: now, limit. Returns {id, stored, …}
 * of the due entries and the next due time ('' when none).
 */
export const DUE: LuaScript = script(
  "webhook_due",
  `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[1], id) or ''
end
local nxt = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, 1, 'WITHSCORES')
return {out, nxt[2] or ''}
`,
);

/** KEYS: queue hash, due zset, bytes. ARGV: ids. Removes them and their bytes. */
export const REMOVE: LuaScript = script(
  "webhook_remove",
  `
local bytes = 0
for _, id in ipairs(ARGV) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    bytes = bytes + tonumber(string.match(v, '^(%d+):'))
    redis.call('HDEL', KEYS[1], id)
  end
  redis.call('ZREM', KEYS[2], id)
end
if bytes > 0 then redis.call('DECRBY', KEYS[3], bytes) end
return bytes
`,
);

/** KEYS: queue hash, due zset. ARGV: id, due, json per entry. Updates entries still queued. */
export const RESCHEDULE: LuaScript = script(
  "webhook_reschedule",
  `
for i = 1, #ARGV, 3 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v then
    local size = string.match(v, '^(%d+):')
    redis.call('HSET', KEYS[1], ARGV[i], size .. ':' .. ARGV[i + 2])
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i])
  end
end
return 0
`,
);
