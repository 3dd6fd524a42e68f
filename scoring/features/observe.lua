-- Read an event's feature state and record the event, atomically, in one round trip.
-- Mirrors MemoryFeatureStore in store.py: change both together (tests run the same
-- cases against each).
--
-- KEYS[1]  seen marker of this event (a retry gets the first answer back, nothing recorded)
-- KEYS[2]  customer profile hash: last_ts, n, mean, m2
-- KEYS[3]  customer's devices set            (used when ARGV[9] ~= '')
-- KEYS[4]  card's merchants zset             (used when ARGV[7] == '1')
-- KEYS[5]  card's countries zset             (used when ARGV[7] == '1')
-- KEYS[6]  customer's countries set           (used when ARGV[10] ~= '')
-- KEYS[7]  device's cards zset                (used when ARGV[9] ~= '' and ARGV[7] == '1')
-- KEYS[8]  payee's recent payers zset         (used when ARGV[13] ~= '')
-- KEYS[9]  payee's first payment per payer    (used when ARGV[13] ~= '')
-- KEYS[10] pointer to the current cold generation (its as_of); read only
-- KEYS[11] undo record of this event: what forget.lua needs to reverse it (short TTL)
-- KEYS[12..14] when the card, the customer and the device were first seen: hash {ts, n}, n
--          the events at exactly ts (used when the event has that entity)
-- KEYS[15..] velocity series, one per entity present: zset of "cumcount:cumsum:amount:ref",
--          the count zero-padded so that members of equal score sort in arrival order
-- ARGV: 1 ts (s)  2 amount (milli-units, integer)  3 ref  4 windows "60,3600,86400"
--       5 trim horizon (s)  6 ttl velocity (ms)  7 has card  8 merchant  9 device  10 country
--       11 ttl profile (ms)  12 ttl seen (ms)  13 payee  14 customer  15 card
--       16 cold generation hash prefix ("<pointer>:")  17..20 cold fields of the customer,
--       merchant, device and IP address (the hash is named from the pointer's value: one
--       Redis instance, not a cluster)  21 ttl undo (ms)  22 the request's fingerprint
--       (kept in the seen marker before the payload, "<fingerprint>#<payload>": a retry is
--       compared with it)  23 ttl first seen (ms)
local cached = redis.call('GET', KEYS[1])
if cached then
  return {'1', cached}
end

local ts = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local ref = ARGV[3]
local trim = tonumber(ARGV[5])
local ttl_velocity = ARGV[6]
local ttl_profile = ARGV[11]
local windows = {}
for w in string.gmatch(ARGV[4], '[^,]+') do
  windows[#windows + 1] = tonumber(w)
end

local function fmt(x)
  return string.format('%.17g', x)
end

local function parse(member)
  local c, s, a = string.match(member, '^(%-?%d+):(%-?%d+):(%-?%d+):')
  return tonumber(c), tonumber(s), tonumber(a)
end

-- Trimming old members does not change any answer (cumulative sums stay consistent), so it
-- is done on every TRIM_EVERY-th event of a series, not on every event: fewer calls.
local TRIM_EVERY = 16

local out = {}
-- The undo record, '|'-joined: each velocity member's score; the previous score of each
-- distinct member this event raised ('-': not raised, '': absent); whether it added the
-- device, the country and the payee's first payer; the profile as it was.
local undo = {}
for i = 15, #KEYS do
  local key = KEYS[i]
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  local last_score = nil
  if #last > 0 then
    last_score = tonumber(last[2])
  end
  local first = nil -- the oldest member, fetched at most once
  -- cumulative (count, sum) of the series up to and including score x
  local function cum_at(x)
    if last_score and last_score <= x then
      local c, s = parse(last[1])
      return c, s
    end
    local r = redis.call('ZREVRANGEBYSCORE', key, x, '-inf', 'LIMIT', 0, 1)
    if #r > 0 then
      local c, s = parse(r[1])
      return c, s
    end
    if first == nil then
      first = redis.call('ZRANGE', key, 0, 0)
    end
    if #first == 0 then
      return 0, 0
    end
    local c, s, a = parse(first[1])
    return c - 1, s - a
  end
  local c_now, s_now = cum_at(ts)
  for _, w in ipairs(windows) do
    local c_w, s_w = cum_at(ts - w)
    out[#out + 1] = string.format('%.0f', c_now - c_w)
    out[#out + 1] = string.format('%.0f', s_now - s_w)
  end
  local lc, ls, score = 0, 0, ts
  if last_score then
    lc, ls = parse(last[1])
    score = math.max(ts, last_score)
  end
  local member = string.format('%012.0f:%.0f:%.0f:', lc + 1, ls + amount, amount) .. ref
  redis.call('ZADD', key, score, member)
  undo[#undo + 1] = fmt(score)
  if (lc + 1) % TRIM_EVERY == 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. fmt(score - trim))
  end
  redis.call('PEXPIRE', key, ttl_velocity)
end

local longest = windows[#windows]
-- Set the member's score to ts unless it is later already; note what it was for the undo.
local function raise(key, member)
  local before = redis.call('ZSCORE', key, member)
  if before and tonumber(before) >= ts then
    undo[#undo + 1] = '-'
    return
  end
  redis.call('ZADD', key, ts, member)
  undo[#undo + 1] = before or ''
end

local function distinct(key, member)
  local n = redis.call('ZCOUNT', key, '(' .. fmt(ts - longest), fmt(ts))
  if member ~= '' then
    raise(key, member)
  else
    undo[#undo + 1] = '-'
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. fmt(ts - trim))
  redis.call('PEXPIRE', key, ttl_velocity)
  return tostring(n)
end

if ARGV[7] == '1' then
  out[#out + 1] = distinct(KEYS[4], ARGV[8])
  out[#out + 1] = distinct(KEYS[5], ARGV[10])
else
  out[#out + 1] = ''
  out[#out + 1] = ''
  undo[#undo + 1] = '-'
  undo[#undo + 1] = '-'
end

local profile = redis.call('HMGET', KEYS[2], 'last_ts', 'n', 'mean', 'm2')
local last_ts = profile[1]
local n = tonumber(profile[2] or '0')
local mean = tonumber(profile[3] or '0')
local m2 = tonumber(profile[4] or '0')
out[#out + 1] = last_ts or ''
out[#out + 1] = tostring(n)
out[#out + 1] = fmt(mean)
out[#out + 1] = fmt(m2)
local x = amount / 1000
local n1 = n + 1
local delta = x - mean
local mean1 = mean + delta / n1
local m21 = m2 + delta * (x - mean1)
local new_last = ts
if last_ts then
  new_last = math.max(ts, tonumber(last_ts))
end
redis.call('HSET', KEYS[2], 'last_ts', fmt(new_last), 'n', tostring(n1), 'mean', fmt(mean1),
  'm2', fmt(m21))
redis.call('PEXPIRE', KEYS[2], ttl_profile)

local device_added = '0'
if ARGV[9] ~= '' then
  device_added = tostring(redis.call('SADD', KEYS[3], ARGV[9]))
  out[#out + 1] = device_added == '1' and '0' or '1'
  redis.call('PEXPIRE', KEYS[3], ttl_profile)
else
  out[#out + 1] = ''
end

local country_added = '0'
if ARGV[10] ~= '' then
  country_added = tostring(redis.call('SADD', KEYS[6], ARGV[10]))
  out[#out + 1] = country_added == '1' and '0' or '1'
  redis.call('PEXPIRE', KEYS[6], ttl_profile)
else
  out[#out + 1] = ''
end

local hour = windows[2]
local first_payer = '0'
if ARGV[9] ~= '' and ARGV[7] == '1' then
  out[#out + 1] = tostring(redis.call('ZCOUNT', KEYS[7], '(' .. fmt(ts - hour), fmt(ts)))
  raise(KEYS[7], ARGV[15])
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. fmt(ts - trim))
  redis.call('PEXPIRE', KEYS[7], ttl_velocity)
else
  out[#out + 1] = ''
  undo[#undo + 1] = '-'
end

if ARGV[13] ~= '' then
  local recent = redis.call('ZRANGEBYSCORE', KEYS[8], '(' .. fmt(ts - longest), fmt(ts))
  local new = 0
  if #recent > 0 then
    local firsts = redis.call('HMGET', KEYS[9], unpack(recent))
    for _, first in ipairs(firsts) do
      if first and tonumber(first) > ts - longest then
        new = new + 1
      end
    end
  end
  out[#out + 1] = tostring(#recent)
  out[#out + 1] = tostring(new)
  raise(KEYS[8], ARGV[14])
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', '(' .. fmt(ts - trim))
  redis.call('PEXPIRE', KEYS[8], ttl_velocity)
  first_payer = tostring(redis.call('HSETNX', KEYS[9], ARGV[14], fmt(ts)))
  redis.call('PEXPIRE', KEYS[9], ttl_profile)
else
  out[#out + 1] = ''
  out[#out + 1] = ''
  undo[#undo + 1] = '-'
end

local as_of = redis.call('GET', KEYS[10])
if as_of then
  out[#out + 1] = as_of
  local cold = redis.call('HMGET', ARGV[16] .. as_of, ARGV[17], ARGV[18], ARGV[19], ARGV[20])
  for i = 1, 4 do
    out[#out + 1] = cold[i] or ''
  end
else
  for _ = 1, 5 do
    out[#out + 1] = ''
  end
end

-- First seen: the earliest time at or before this event ('-': never before it). The undo
-- field: '-' unchanged, 'n' set for the first time, 'i' one more event at that very time,
-- 'p<ts>,<n>' lowered from an earlier first time (a late event).
local first_undo = {}
local first_ids = {ARGV[15], ARGV[14], ARGV[9]}
for i = 1, 3 do
  local key = KEYS[11 + i]
  if first_ids[i] == '' then
    out[#out + 1] = ''
    first_undo[i] = '-'
  else
    local state = redis.call('HMGET', key, 'ts', 'n')
    local first = state[1] and tonumber(state[1])
    if first and first <= ts then
      out[#out + 1] = state[1]
    else
      out[#out + 1] = '-'
    end
    if not first then
      redis.call('HSET', key, 'ts', fmt(ts), 'n', '1')
      first_undo[i] = 'n'
    elseif ts < first then
      redis.call('HSET', key, 'ts', fmt(ts), 'n', '1')
      first_undo[i] = 'p' .. state[1] .. ',' .. state[2]
    elseif ts == first then
      redis.call('HINCRBY', key, 'n', 1)
      first_undo[i] = 'i'
    else
      first_undo[i] = '-'
    end
    redis.call('PEXPIRE', key, ARGV[23])
  end
end

local payload = table.concat(out, '|')
redis.call('SET', KEYS[1], ARGV[22] .. '#' .. payload, 'PX', ARGV[12])
undo[#undo + 1] = device_added
undo[#undo + 1] = country_added
undo[#undo + 1] = first_payer
undo[#undo + 1] = last_ts or ''
undo[#undo + 1] = profile[2] or ''
undo[#undo + 1] = profile[3] or ''
undo[#undo + 1] = profile[4] or ''
for i = 1, 3 do
  undo[#undo + 1] = first_undo[i]
end
redis.call('SET', KEYS[11], table.concat(undo, '|'), 'PX', ARGV[21])
return {'0', payload}
