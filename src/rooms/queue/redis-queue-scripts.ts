/**
 * Lua for the Redis queue store: each script is one atomic step. All
 * per-concert scripts take the same KEYS, in this order (see `concertKeys`):
 *
 * An entry is named by its ticket, except one drawn at the opening: it keeps its pre-queue
 * key (-1, -2, …) everywhere below, and only `line` scores it by its ticket (`alias` and
 * `tickets` map one to the other). So the draw writes three small records per entry
 * instead of moving the entry between a dozen (a hundred thousand entries, at once).
 *
 *   1 meta      hash: seq, preseq, tick, rate, last (ms), soldout, paused (1/0)
 *   2 line      zset ticket (or drawn key)→ticket: the waiting line, leavers included until the tick announces them
 *   3 leaving   set: waiters ended since the last tick
 *   4 active    zset ticket→expiresAt
 *   5 detached  zset ticket→idle since: live entries whose user has no socket anywhere
 *   6 entries   hash ticket→"S|userId|expiresAt|reason" (S = W, A or E)
 *   7 tokens    hash ticket→queue token
 *   8 users     hash userId→ticket (the user's latest entry)
 *   9 gone      zset ticket→ended at, until the record is dropped
 *  10 lease     string: the instance that runs this concert's ticks
 *  11 concerts  set of concerts with live entries (global)
 *  12 conns     hash userId→instances with a socket of the user (global)
 *  13 queues    set of the user's concerts (per user; a placeholder when no user is involved)
 *  14 admits    zset "tick:count"→at: admissions of the last minute
 *  15 pre       zset key→arrival: pre-queued entries (keys -1, -2, …); joined after the opening scores LATE + n
 *  16 alias     hash pre-queue key→the ticket the draw gave it
 *  17 tickets   hash ticket→the pre-queue key it was drawn for
 */
const PRELUDE = `
local META, LINE, LEAVING, ACTIVE, DETACHED, ENTRIES, TOKENS, USERS, GONE, LEASE, CONCERTS, CONNS, QUEUES, ADMITS, PRE, ALIAS, TICKETS = unpack(KEYS)
local LATE = 1e15
-- What names the entry a ticket or key names: a drawn entry is still named by its key (45 is '-').
-- A key whose entry a draw before this scheme renamed to its ticket is followed to it.
local function resolve(t)
  if string.byte(t, 1) ~= 45 then return redis.call('HGET', TICKETS, t) or t end
  if redis.call('HEXISTS', ENTRIES, t) == 1 then return t end
  return redis.call('HGET', ALIAS, t) or t
end
-- The ticket of an entry: a drawn key's ticket; a key not drawn yet stands for itself.
local function ticketOf(t) if string.byte(t, 1) == 45 then return redis.call('HGET', ALIAS, t) or t end return t end
local function parse(s)
  if not s then return nil end
  local st, uid, exp, reason = string.match(s, '^(%u)|(%d+)|(%d*)|(%u*)$')
  if not st then return nil end
  return { st = st, uid = uid, exp = exp, reason = reason }
end
local function int(n) return string.format('%.0f', n) end
local function enc(st, uid, exp, reason) return st .. '|' .. uid .. '|' .. (exp or '') .. '|' .. (reason or '') end
local function rate() return redis.call('HGET', META, 'rate') or '' end
local function view(t, e)
  local pos, pre = 0, 0
  if e.st == 'W' then
    if redis.call('ZSCORE', PRE, t) then pre = 1 else pos = (redis.call('ZRANK', LINE, t) or -1) + 1 end
  end
  return { ticketOf(t), e.st, e.uid, e.exp, e.reason, redis.call('HGET', TOKENS, t) or '',
           redis.call('HGET', META, 'tick') or '0', pos, redis.call('ZCARD', LINE), rate(), pre }
end
local function expire(t, e, reason, now)
  redis.call('HSET', ENTRIES, t, enc('E', e.uid, '', reason))
  redis.call('ZREM', DETACHED, t)
  redis.call('ZADD', GONE, now, t)
end
`;

/** ARGV: userId, now, maxWaiting, concertId, opensAt → {created (1/0), ...view} | {-1, waiting, rate} */
export const JOIN = `${PRELUDE}
local uid, now = ARGV[1], ARGV[2]
local t = redis.call('HGET', USERS, uid)
if t then
  local e = parse(redis.call('HGET', ENTRIES, t))
  if e and e.st ~= 'E' then
    redis.call('ZADD', DETACHED, 'XX', now, t)
    local v = view(t, e)
    table.insert(v, 1, 0)
    return v
  end
end
local waiting = redis.call('ZCARD', LINE)
if waiting + redis.call('ZCARD', PRE) >= tonumber(ARGV[3]) then return { -1, waiting, rate() } end
-- Until the draw, later arrivals wait for it too: a ticket now would go ahead of the drawn.
local early = tonumber(now) < tonumber(ARGV[5])
if early or redis.call('ZCARD', PRE) > 0 then
  local n = redis.call('HINCRBY', META, 'preseq', 1)
  t = tostring(-n)
  redis.call('ZADD', PRE, early and n or LATE + n, t)
else
  t = redis.call('HINCRBY', META, 'seq', 1)
  redis.call('ZADD', LINE, t, t)
end
redis.call('HSET', ENTRIES, t, enc('W', uid))
redis.call('HSET', USERS, uid, t)
redis.call('SADD', QUEUES, ARGV[4])
redis.call('SADD', CONCERTS, ARGV[4])
if tonumber(redis.call('HGET', CONNS, uid) or '0') <= 0 then redis.call('ZADD', DETACHED, now, t) end
local v = view(t, { st = 'W', uid = uid, exp = '', reason = '' })
table.insert(v, 1, 1)
return v
`;

/** ARGV: ticket, token → the stored token (first writer wins). */
export const SET_TOKEN = `${PRELUDE}
local t = resolve(ARGV[1])
if redis.call('HEXISTS', ENTRIES, t) == 0 then return ARGV[2] end
redis.call('HSETNX', TOKENS, t, ARGV[2])
return redis.call('HGET', TOKENS, t)
`;

/** ARGV: ticket, now → view | nil. Counts as activity of the entry's user. */
export const VIEW = `${PRELUDE}
local t = resolve(ARGV[1])
local e = parse(redis.call('HGET', ENTRIES, t))
if not e then return false end
if e.st ~= 'E' then redis.call('ZADD', DETACHED, 'XX', ARGV[2], t) end
return view(t, e)
`;

/** ARGV: ticket, reason, now, onlyActive (1/0) → {status, userId, expiresAt} as it was | nil */
export const END = `${PRELUDE}
local t = resolve(ARGV[1])
local e = parse(redis.call('HGET', ENTRIES, t))
if not e or e.st == 'E' or (ARGV[4] == '1' and e.st ~= 'A') then return false end
-- A pre-queued entry has no place in the line, so no tick announces it.
if e.st == 'W' then
  if redis.call('ZREM', PRE, t) == 0 then redis.call('SADD', LEAVING, t) end
else redis.call('ZREM', ACTIVE, t) end
expire(t, e, ARGV[2], ARGV[3])
return { e.st, e.uid, e.exp }
`;

/**
 * ARGV: now, intervalMs, batch, maxActive, ttlMs, idleMs, leaseMs, limit,
 * instance, tauMs, retentionMs, concertId, priorRate, paused (1/0), windowMs
 * → {leader 0, tick, empty} | {leader 1, tick, changed, admitted[t,u,exp...], left[t...], expired[t,u,reason...], waiting, rate, empty}
 */
export const TICK = `${PRELUDE}
local now, interval, batch, maxActive = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, idle, leaseMs, limit = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local holder = redis.call('GET', LEASE)
if holder and holder ~= ARGV[9] then
  local empty = redis.call('ZCARD', LINE) == 0 and redis.call('ZCARD', ACTIVE) == 0
  return { 0, tonumber(redis.call('HGET', META, 'tick') or '0'), empty and 1 or 0 }
end
redis.call('SET', LEASE, ARGV[9], 'PX', leaseMs)
local hadWaiters = redis.call('ZCARD', LINE) - redis.call('SCARD', LEAVING) > 0
local expired = {}
local function ended(t, e, reason)
  expire(t, e, reason, now)
  table.insert(expired, ticketOf(t)); table.insert(expired, e.uid); table.insert(expired, reason)
end
for _, t in ipairs(redis.call('ZRANGEBYSCORE', DETACHED, '-inf', now - idle, 'LIMIT', 0, limit)) do
  local e = parse(redis.call('HGET', ENTRIES, t))
  redis.call('ZREM', DETACHED, t)
  if e and e.st == 'W' then
    if redis.call('ZREM', PRE, t) == 0 then redis.call('SADD', LEAVING, t) end
    ended(t, e, 'IDLE')
  elseif e and e.st == 'A' then
    redis.call('ZREM', ACTIVE, t)
    ended(t, e, 'IDLE')
  end
end
for _, t in ipairs(redis.call('ZRANGEBYSCORE', ACTIVE, '-inf', now, 'LIMIT', 0, limit)) do
  local e = parse(redis.call('HGET', ENTRIES, t))
  redis.call('ZREM', ACTIVE, t)
  if e and e.st == 'A' then ended(t, e, 'TIMEOUT') end
end
local leaving = redis.call('SMEMBERS', LEAVING)
for i = 1, #leaving, 500 do redis.call('ZREM', LINE, unpack(leaving, i, math.min(i + 499, #leaving))) end
local left = {}
for i, t in ipairs(leaving) do left[i] = ticketOf(t) end
redis.call('DEL', LEAVING)
local admitted = {}
local room = math.min(batch, maxActive - redis.call('ZCARD', ACTIVE))
if room > 0 then
  for _, t in ipairs(redis.call('ZRANGE', LINE, 0, room - 1)) do
    local e = parse(redis.call('HGET', ENTRIES, t))
    redis.call('ZREM', LINE, t)
    if e and e.st == 'W' then
      local exp = int(now + ttl)
      redis.call('HSET', ENTRIES, t, enc('A', e.uid, exp))
      redis.call('ZADD', ACTIVE, exp, t)
      table.insert(admitted, ticketOf(t)); table.insert(admitted, e.uid); table.insert(admitted, exp)
    end
  end
end
local r = tonumber(redis.call('HGET', META, 'rate') or ARGV[13])
local paused = ARGV[14] == '1'
if hadWaiters and not paused then
  local last = tonumber(redis.call('HGET', META, 'last') or '0')
  local elapsed = interval
  if last > 0 then elapsed = now - last end
  local dt = math.min(math.max(elapsed, 1), 2 * interval)
  r = r + (1 - math.exp(-dt / tonumber(ARGV[10]))) * ((#admitted / 3) * 1000 / dt - r)
end
redis.call('HSET', META, 'rate', string.format('%.17g', r), 'last', int(now))
local tick = tonumber(redis.call('HGET', META, 'tick') or '0')
local announce = (redis.call('HGET', META, 'paused') or '0') ~= ARGV[14]
redis.call('HSET', META, 'paused', ARGV[14])
local changed = #admitted > 0 or #left > 0 or announce
if changed then tick = redis.call('HINCRBY', META, 'tick', 1) end
if #admitted > 0 then redis.call('ZADD', ADMITS, now, tick .. ':' .. (#admitted / 3)) end
redis.call('ZREMRANGEBYSCORE', ADMITS, '-inf', now - tonumber(ARGV[15]))
for _, t in ipairs(redis.call('ZRANGEBYSCORE', GONE, '-inf', now - tonumber(ARGV[11]), 'LIMIT', 0, limit)) do
  local e = parse(redis.call('HGET', ENTRIES, t))
  redis.call('HDEL', ENTRIES, t)
  redis.call('HDEL', TOKENS, t)
  redis.call('ZREM', GONE, t)
  if e and redis.call('HGET', USERS, e.uid) == t then redis.call('HDEL', USERS, e.uid) end
  local drawn = string.byte(t, 1) == 45 and redis.call('HGET', ALIAS, t)
  if drawn then
    redis.call('HDEL', TICKETS, drawn)
    redis.call('HDEL', ALIAS, t)
  end
end
local waiting = redis.call('ZCARD', LINE)
local preQueued = redis.call('ZCARD', PRE)
local empty = waiting == 0 and preQueued == 0 and redis.call('ZCARD', ACTIVE) == 0
if empty then redis.call('SREM', CONCERTS, ARGV[12]) end
return { 1, tick, changed and 1 or 0, admitted, left, expired, waiting, string.format('%.17g', r), empty and 1 or 0, preQueued }
`;

/**
 * The opening's draw. ARGV: instance, leaseMs, early count, order (the early entries' 1-based
 * arrival indices, comma-separated, in drawn order)
 * → {0} not the lease holder | {-1} the early count changed | {1, tick, base, waiting, rate, first ticket, {userId, ...}}
 * The drawn get consecutive tickets from `first`, in the order of the user ids. Each keeps its
 * key and records: the draw only places it in the line and maps key and ticket both ways, a
 * thousand entries per call.
 */
export const DRAW = `${PRELUDE}
local holder = redis.call('GET', LEASE)
if holder and holder ~= ARGV[1] then return { 0 } end
redis.call('SET', LEASE, ARGV[1], 'PX', ARGV[2])
local early = redis.call('ZRANGEBYSCORE', PRE, '-inf', '(' .. LATE)
if #early ~= tonumber(ARGV[3]) then return { -1 } end
local order = {}
for i in string.gmatch(ARGV[4], '%d+') do order[#order + 1] = early[tonumber(i)] end
for _, key in ipairs(redis.call('ZRANGEBYSCORE', PRE, LATE, '+inf')) do order[#order + 1] = key end
local base = redis.call('ZCARD', LINE)
local seq = tonumber(redis.call('HGET', META, 'seq') or '0')
local first = seq + 1
local uids = {}
for from = 1, #order, 1000 do
  local keys = { unpack(order, from, math.min(from + 999, #order)) }
  local records = redis.call('HMGET', ENTRIES, unpack(keys))
  local line, alias, tickets = {}, {}, {}
  for i, key in ipairs(keys) do
    local record = records[i]
    -- Only waiting entries are pre-queued; they read "W|<userId>||" (see enc).
    if record and string.byte(record, 1) == 87 then
      seq = seq + 1
      local t = int(seq)
      line[#line + 1] = t; line[#line + 1] = key
      alias[#alias + 1] = key; alias[#alias + 1] = t
      tickets[#tickets + 1] = t; tickets[#tickets + 1] = key
      uids[#uids + 1] = string.sub(record, 3, -3)
    end
  end
  if #line > 0 then
    redis.call('ZADD', LINE, unpack(line))
    redis.call('HSET', ALIAS, unpack(alias))
    redis.call('HSET', TICKETS, unpack(tickets))
  end
end
redis.call('HSET', META, 'seq', int(seq))
-- Freed in the background: a hundred thousand members are milliseconds of the main thread.
redis.call('UNLINK', PRE)
return { 1, redis.call('HGET', META, 'tick') or '0', base, redis.call('ZCARD', LINE), rate(), first, uids }
`;

/** ARGV: now, windowMs → {waiting, active, admitted in the window} */
export const COUNTS = `${PRELUDE}
local n = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', ADMITS, '(' .. (tonumber(ARGV[1]) - tonumber(ARGV[2])), '+inf')) do
  n = n + tonumber(string.match(m, ':(%d+)$'))
end
return { redis.call('ZCARD', LINE) - redis.call('SCARD', LEAVING), redis.call('ZCARD', ACTIVE), n, redis.call('ZCARD', PRE) }
`;

/** ARGV: userId, now. Re-derives whether the user's entry counts as detached from the global count. */
export const SYNC_PRESENCE = `${PRELUDE}
local t = redis.call('HGET', USERS, ARGV[1])
if not t then return 0 end
local e = parse(redis.call('HGET', ENTRIES, t))
if not e or e.st == 'E' then return 0 end
if tonumber(redis.call('HGET', CONNS, ARGV[1]) or '0') > 0 then redis.call('ZREM', DETACHED, t)
else redis.call('ZADD', DETACHED, 'NX', ARGV[2], t) end
return 1
`;

/** KEYS: conns. ARGV: userId, delta → the new count (the field goes at zero). */
export const COUNT_CONNECTION = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n
`;

/** ARGV: soldout (1/0) → 1 when that changed the stored value. */
export const SET_SOLD_OUT = `${PRELUDE}
if (redis.call('HGET', META, 'soldout') or '0') == ARGV[1] then return 0 end
redis.call('HSET', META, 'soldout', ARGV[1])
return 1
`;
