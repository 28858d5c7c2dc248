/**
 * The Lua scripts of the Redis budget. Each runs atomically in Redis, and
 * every lease expiry is computed from Redis's own clock (`TIME`), so the
 * clocks of the workers never matter.
 *
 * A lease is a member of the sorted set `{prefix}:lease:{origin}`, scored
 * by the time it expires (ms). The set's own key expires with its newest
 * lease, so an origin nobody uses leaves nothing behind.
 */

/** The time in Redis, in ms. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Grants as many of the offered leases as the origin has room for.
 * KEYS: lease set, pause key. ARGV: limit, lease ms, lease ids...
 * Returns `{granted, pausedForMs}`: while the origin is paused nothing is
 * granted and the pause's remaining time is returned.
 */
export const ACQUIRE = `
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return {0, paused} end
${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local held = redis.call('ZCARD', KEYS[1])
local granted = 0
for i = 3, #ARGV do
  if held >= limit then break end
  redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
  held = held + 1
  granted = granted + 1
end
if granted > 0 then redis.call('PEXPIRE', KEYS[1], lease) end
return {granted, 0}
`;

/**
 * Gives leases back and tells the fleet's waiters.
 * KEYS: lease set. ARGV: channel, origin, lease ids...
 */
export const RELEASE = `
local removed = 0
for i = 3, #ARGV do removed = removed + redis.call('ZREM', KEYS[1], ARGV[i]) end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return removed
`;

/**
 * Pushes the expiry of every lease this process holds, in one call. A lease
 * that is missing (lost when Redis restarted from an append-only file that
 * had not synced it yet) or already expired (renewed too late) is put back:
 * its transfer is running, so it counts. Returns how many were late or missing.
 * KEYS: lease sets. ARGV: lease ms, then per key: count, lease ids...
 */
export const RENEW = `
${NOW}
local lease = tonumber(ARGV[1])
local pos = 2
local late = 0
for k = 1, #KEYS do
  local n = tonumber(ARGV[pos])
  pos = pos + 1
  for i = 1, n do
    local expiry = redis.call('ZSCORE', KEYS[k], ARGV[pos])
    if not expiry or tonumber(expiry) <= now then late = late + 1 end
    redis.call('ZADD', KEYS[k], now + lease, ARGV[pos])
    pos = pos + 1
  end
  redis.call('PEXPIRE', KEYS[k], lease)
end
return late
`;

/**
 * A host asked for less load: pauses new leases for its origin, keeping the
 * longer of the existing and the new pause.
 * KEYS: pause key, refused-burst counter, throttle streak.
 * ARGV: kind (`throttled`|`refused`), pause ms (-1: none given), burst size,
 * burst window ms, refused pause ms, streak base ms, streak max ms, jitter factor.
 * Returns the pause now in force (ms), 0 when none was set.
 */
export const SIGNAL = `
local ms = tonumber(ARGV[2])
if ARGV[1] == 'refused' then
  local n = redis.call('INCR', KEYS[2])
  if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
  if n < tonumber(ARGV[3]) then return 0 end
  redis.call('DEL', KEYS[2])
  ms = tonumber(ARGV[5])
elseif ms < 0 then
  local n = redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], 60000)
  ms = math.min(tonumber(ARGV[6]) * 2 ^ (n - 1), tonumber(ARGV[7]))
  ms = math.floor(ms * tonumber(ARGV[8]))
end
if ms <= 0 then return 0 end
local current = redis.call('PTTL', KEYS[1])
if current >= ms then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ms)
return ms
`;
