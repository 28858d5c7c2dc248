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
 * The origin's limit now: the configured one, or the lowered one of
 * `{prefix}:limit:{origin}` (a hash: `limit`, `step`, `gen`, `reason`) plus
 * one per quiet period since `step` (when its pause ended), never above the
 * configured one. Sets `limit`, and `nextStep`: ms until it climbs again
 * (-1 when at the configured limit).
 */
const LIMIT = `
local limit = configured
local nextStep = -1
local reason = ''
local h = redis.call('HMGET', limitKey, 'limit', 'step', 'reason')
if h[1] then
  local since = now - tonumber(h[2])
  local climbed = 0
  if since >= 0 then climbed = math.floor(since / quiet) end
  limit = math.min(configured, tonumber(h[1]) + climbed)
  if limit < configured then
    if since < 0 then nextStep = quiet - since else nextStep = quiet - since % quiet end
  end
  reason = h[3] or ''
end
`;

/**
 * The fair share of one worker at an origin. Needs `limit`, `now`, the lease
 * set `leaseKey`, the want set `wantKey` (drops its expired members) and
 * `me` (this worker's id). Sets `mine` (its leases there), `most` (the most
 * it may hold), and `share`: -1 while no other worker wants a lease there.
 * With W workers holding or wanting one, `most` is ceil(limit / W), or
 * floor(limit / W) (at least 1) while another wanting worker holds fewer
 * than that (it starves: the ceilings of all add up to more than the limit);
 * `share` is then `most`.
 */
const SHARE = `
redis.call('ZREMRANGEBYSCORE', wantKey, '-inf', now)
local held = {}
local count = 0
for _, id in ipairs(redis.call('ZRANGE', leaseKey, 0, -1)) do
  local w = string.match(id, '^(.*):[^:]*$') or id
  if not held[w] then held[w] = 0 count = count + 1 end
  held[w] = held[w] + 1
end
local mine = held[me] or 0
local wanting = {}
for _, w in ipairs(redis.call('ZRANGE', wantKey, 0, -1)) do
  if w ~= me then wanting[#wanting + 1] = w end
  if not held[w] then held[w] = 0 count = count + 1 end
end
local share = -1
local most = limit
if #wanting > 0 then
  local floor = math.max(1, math.floor(limit / math.max(1, count)))
  most = math.ceil(limit / math.max(1, count))
  for _, w in ipairs(wanting) do
    if held[w] < floor then most = floor end
  end
  share = most
end
`;

/**
 * Grants as many of the offered leases as the origin has room for, and as
 * this worker's fair share allows: while another worker wants a lease of the
 * origin, a worker holding its share (ceil(limit / workers holding or
 * wanting)) gets none. A worker left wanting is listed in the want set
 * `{prefix}:want:{origin}` for `wantMs`, refreshed by each call, and the
 * call publishes the origin on the want channel, so holders over their
 * share hear of it; a worker granted all it asked for leaves the set.
 * KEYS: lease set, pause key, limit key, want set. ARGV: configured limit,
 * lease ms, quiet ms, worker id, want ms, want channel, origin, lease ids...
 * Returns `{granted, pausedForMs, limit, nextStepMs, reason, share}`: while
 * the origin is paused nothing is granted and the pause's remaining time is
 * returned; `limit` is the origin's limit now (lowered after a signal);
 * `share` this worker's share (-1: nobody else wants one and this worker got
 * all it asked for; a worker left wanting while others hold leases gets
 * ceil(limit / workers holding or wanting)).
 */
export const ACQUIRE = `
${NOW}
local configured = tonumber(ARGV[1])
local quiet = tonumber(ARGV[3])
local limitKey = KEYS[3]
${LIMIT}
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return {0, paused, limit, nextStep, reason, -1} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local me = ARGV[4]
local wantKey = KEYS[4]
local leaseKey = KEYS[1]
local offered = #ARGV - 7
if offered > 0 then
  redis.call('ZADD', wantKey, now + tonumber(ARGV[5]), me)
  redis.call('PEXPIRE', wantKey, tonumber(ARGV[5]))
end
${SHARE}
local lease = tonumber(ARGV[2])
local total = redis.call('ZCARD', KEYS[1])
local granted = 0
for i = 8, #ARGV do
  if total >= limit then break end
  if mine >= most then break end
  redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
  total = total + 1
  mine = mine + 1
  granted = granted + 1
end
if granted > 0 then redis.call('PEXPIRE', KEYS[1], lease) end
-- Left wanting while others hold leases: this worker's fair part, so it starts no more
-- transfers than it may get connections for (the rest would only wait at the gate).
if share < 0 and granted < offered and count > 1 then share = math.ceil(limit / count) end
if offered > 0 then
  if granted == offered then
    redis.call('ZREM', wantKey, me)
  else
    redis.call('PUBLISH', ARGV[6], ARGV[7])
  end
end
return {granted, 0, limit, nextStep, reason, share}
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
 * its transfer is running, so it counts. Returns how many were late or
 * missing, then this worker's share of each origin (as ACQUIRE's `share`).
 * KEYS: lease sets, then their want sets. ARGV: lease ms, worker id, then
 * per lease set: its origin's limit, count, lease ids...
 */
export const RENEW = `
${NOW}
local lease = tonumber(ARGV[1])
local me = ARGV[2]
local pos = 3
local late = 0
local out = {0}
local origins = #KEYS / 2
for k = 1, origins do
  local limit = tonumber(ARGV[pos])
  local n = tonumber(ARGV[pos + 1])
  pos = pos + 2
  for i = 1, n do
    local expiry = redis.call('ZSCORE', KEYS[k], ARGV[pos])
    if not expiry or tonumber(expiry) <= now then late = late + 1 end
    redis.call('ZADD', KEYS[k], now + lease, ARGV[pos])
    pos = pos + 1
  end
  redis.call('PEXPIRE', KEYS[k], lease)
  local leaseKey = KEYS[k]
  local wantKey = KEYS[origins + k]
  ${SHARE}
  out[k + 1] = share
end
out[1] = late
return out
`;

/**
 * A host asked for less load: pauses new leases for its origin, keeping the
 * longer of the existing and the new pause, and lowers the origin's limit
 * fleet-wide: halved (never below 1) when the origin was not paused already
 * (the signals of one burst are one signal), climbing back one step per
 * quiet period counted from the end of the pause.
 * KEYS: pause key, refused-burst counter, throttle streak, limit key.
 * ARGV: kind (`throttled`|`refused`), pause ms (-1: none given), burst size,
 * burst window ms, refused pause ms, streak base ms, streak max ms, jitter
 * factor, configured limit, quiet ms, reason, pause channel, origin. A
 * pause set or lengthened is published on the pause channel as
 * `{ms} {origin}`, so workers need not ask before every transfer.
 * Returns `{counted, pauseInForceMs, limit, gen, pauseMs}`: `counted` 0 for a
 * refusal below the burst (nothing changed); `gen` numbers the origin's
 * signals (the process that sent the last one reports the recovery);
 * `pauseMs` is this signal's own pause.
 */
export const SIGNAL = `
local ms = tonumber(ARGV[2])
if ARGV[1] == 'refused' then
  local n = redis.call('INCR', KEYS[2])
  if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
  if n < tonumber(ARGV[3]) then return {0, 0, 0, 0, 0} end
  redis.call('DEL', KEYS[2])
  ms = tonumber(ARGV[5])
elseif ms < 0 then
  local n = redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], 60000)
  ms = math.min(tonumber(ARGV[6]) * 2 ^ (n - 1), tonumber(ARGV[7]))
  ms = math.floor(ms * tonumber(ARGV[8]))
end
local current = redis.call('PTTL', KEYS[1])
local wasPaused = current > 0
if current < 0 then current = 0 end
if ms > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ms)
  current = ms
  redis.call('PUBLISH', ARGV[12], current .. ' ' .. ARGV[13])
end
${NOW}
local configured = tonumber(ARGV[9])
local quiet = tonumber(ARGV[10])
local limitKey = KEYS[4]
${LIMIT}
if not wasPaused then limit = math.max(1, math.floor(limit / 2)) end
local gen = redis.call('HINCRBY', limitKey, 'gen', 1)
redis.call('HSET', limitKey, 'limit', limit, 'step', now + current, 'reason', ARGV[11])
redis.call('PEXPIRE', limitKey, current + (configured - limit + 1) * quiet)
return {1, current, limit, gen, ms}
`;

/**
 * Whether the origin is back at its configured limit, for the process that
 * sent its last signal.
 * KEYS: pause key, limit key. ARGV: configured limit, quiet ms, gen.
 * Returns -1 when another signal came since `gen` (its sender reports), 0
 * when recovered, else the ms until it should be.
 */
export const RECOVERED = `
${NOW}
local configured = tonumber(ARGV[1])
local quiet = tonumber(ARGV[2])
local limitKey = KEYS[2]
local gen = redis.call('HGET', limitKey, 'gen')
if gen and gen ~= ARGV[3] then return -1 end
${LIMIT}
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then return paused + (configured - limit) * quiet end
if limit >= configured then return 0 end
return nextStep + (configured - limit - 1) * quiet
`;
