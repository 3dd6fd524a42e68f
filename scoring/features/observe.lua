-- Read an event's feature state and record the event, atomically, in one round trip.
-- Mirrors MemoryFeatureStore in memory_store.py: change both together (tests run the same
-- cases against each). The arguments and the keys: keys.lua, which runs before this.
local cached = redis.call('GET', seen_key)
if cached then
  return '1' .. cached
end

-- TTLs: a key gets its TTL when it is created, and an entity's keys are renewed together at
-- most once per RENEW_SECONDS of wall-clock time (the period is stamped in the entity's
-- velocity members), to their TTL plus RENEW_SECONDS: a key still lives at least its TTL
-- after the entity's latest event, without a PEXPIRE per key and event.
local stamp = tostring(math.floor(tonumber(redis.call('TIME')[1]) / RENEW_SECONDS))
local expire = {} -- key -> TTL (ms), set at the end, after every write
local renewed_with = {
  card = {{card_merchants, TTL_VELOCITY}, {card_countries, TTL_VELOCITY},
    {first_keys[1], TTL_FIRST_SEEN}},
  customer = {{customer_key, TTL_PROFILE}},
  device = {{device_cards, TTL_VELOCITY}, {first_keys[3], TTL_FIRST_SEEN}},
}
-- Each entity's event count after this one: its distinct sets are trimmed every TRIM_EVERY-th.
local counts = {}

local out = {}
-- The undo record, '|'-joined: each velocity member's score; the previous score of each
-- distinct member this event raised ('-': not raised, '': absent); whether it added the
-- device, the country and the payee's first payer; the profile as it was; the first-seen marks.
local undo = {}
for i, key in ipairs(series) do
  -- The TAIL latest members answer most windows; older ones are looked up by score.
  local tail = redis.call('ZREVRANGE', key, 0, TAIL - 1, 'WITHSCORES')
  local m = #tail / 2
  local scores = {}
  for j = 1, m do
    scores[j] = tonumber(tail[2 * j])
  end
  local first = nil -- the oldest member, fetched at most once
  -- cumulative (count, sum) of the series up to and including score x
  local function cum_at(x)
    for j = 1, m do
      if scores[j] <= x then
        local c, s = parse(tail[2 * j - 1])
        return c, s
      end
    end
    local oldest = nil
    if m < TAIL then
      if m == 0 then
        return 0, 0
      end
      oldest = tail[2 * m - 1]
    else
      local r = redis.call('ZREVRANGEBYSCORE', key, x, '-inf', 'LIMIT', 0, 1)
      if #r > 0 then
        local c, s = parse(r[1])
        return c, s
      end
      if first == nil then
        first = redis.call('ZRANGE', key, 0, 0)
      end
      oldest = first[1]
    end
    local c, s, a = parse(oldest)
    return c - 1, s - a
  end
  local c_now, s_now = cum_at(ts)
  for _, w in ipairs(WINDOWS) do
    local c_w, s_w = cum_at(ts - w)
    out[#out + 1] = string.format('%.0f', c_now - c_w)
    out[#out + 1] = string.format('%.0f', s_now - s_w)
  end
  local lc, ls, score, last_stamp = 0, 0, ts, nil
  if m > 0 then
    local _
    lc, ls, _, last_stamp = parse(tail[1])
    score = math.max(ts, scores[1])
  end
  redis.call('ZADD', key, score, member_of(lc + 1, ls + amount, amount, stamp, ref))
  undo[#undo + 1] = fmt(score)
  -- Trimming old members does not change any answer (cumulative sums stay consistent), so it
  -- is done on every TRIM_EVERY-th event of a series, not on every event: fewer calls.
  if (lc + 1) % TRIM_EVERY == 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. fmt(score - TRIM))
  end
  local entity = series_entities[i]
  if last_stamp ~= stamp then
    expire[key] = TTL_VELOCITY
    for _, renewed in ipairs(renewed_with[entity] or {}) do
      expire[renewed[1]] = renewed[2]
    end
  end
  counts[entity] = lc + 1
end

local longest = WINDOWS[#WINDOWS]
-- Set the member's score to ts unless it is later already; note what it was for the undo.
-- n: the members counted in the window; none and a new member: the key may be new.
local function raise(key, member, n)
  local before = redis.call('ZSCORE', key, member)
  if before and tonumber(before) >= ts then
    undo[#undo + 1] = '-'
    return
  end
  redis.call('ZADD', key, ts, member)
  undo[#undo + 1] = before or ''
  if not before and n == 0 then
    expire[key] = TTL_VELOCITY
  end
end

-- Members older than the trim horizon go on every TRIM_EVERY-th event of the entity.
local function trimmed(key, entity)
  if (counts[entity] or 0) % TRIM_EVERY == 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. fmt(ts - TRIM))
  end
end

local function distinct(key, member)
  local n = redis.call('ZCOUNT', key, '(' .. fmt(ts - longest), fmt(ts))
  if member ~= '' then
    raise(key, member, n)
  else
    undo[#undo + 1] = '-'
  end
  trimmed(key, 'card')
  return tostring(n)
end

if has_card then
  out[#out + 1] = distinct(card_merchants, merchant)
  out[#out + 1] = distinct(card_countries, country)
else
  out[#out + 1] = ''
  out[#out + 1] = ''
  undo[#undo + 1] = '-'
  undo[#undo + 1] = '-'
end

-- The customer's hash: profile, first seen, and whether the device and the country are known.
local fields = {'l', 'n', 'mu', 'm2', 'f', 'fn'}
local device_field, country_field = 'd:' .. device, 'c:' .. country
if device ~= '' then
  fields[#fields + 1] = device_field
end
if country ~= '' then
  fields[#fields + 1] = country_field
end
local profile = redis.call('HMGET', customer_key, unpack(fields))
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
local customer_set = {'l', fmt(new_last), 'n', tostring(n1), 'mu', fmt(mean1), 'm2', fmt(m21)}
if not profile[2] then
  expire[customer_key] = TTL_PROFILE
end

-- Whether the customer knew this device (then this country) before; a new one is added to the
-- profile. Their fields follow the six fixed ones in ``fields``, in this order. '1': added.
local known_at = 7
local function known_or_added(value, field)
  if value == '' then
    out[#out + 1] = ''
    return '0'
  end
  local known = profile[known_at]
  known_at = known_at + 1
  out[#out + 1] = known and '1' or '0'
  if known then
    return '0'
  end
  customer_set[#customer_set + 1] = field
  customer_set[#customer_set + 1] = '1'
  return '1'
end
local device_added = known_or_added(device, device_field)
local country_added = known_or_added(country, country_field)

local hour = WINDOWS[2]
local first_payer = '0'
if device ~= '' and has_card then
  local n_cards = redis.call('ZCOUNT', device_cards, '(' .. fmt(ts - hour), fmt(ts))
  out[#out + 1] = tostring(n_cards)
  raise(device_cards, card, n_cards)
  trimmed(device_cards, 'device')
else
  out[#out + 1] = ''
  undo[#undo + 1] = '-'
end

if payee ~= '' then
  local recent = redis.call('ZRANGEBYSCORE', payee_payers, '(' .. fmt(ts - longest), fmt(ts))
  local new = 0
  if #recent > 0 then
    local firsts = redis.call('HMGET', payee_first, unpack(recent))
    for _, first in ipairs(firsts) do
      if first and tonumber(first) > ts - longest then
        new = new + 1
      end
    end
  end
  out[#out + 1] = tostring(#recent)
  out[#out + 1] = tostring(new)
  raise(payee_payers, customer, 1)
  redis.call('ZREMRANGEBYSCORE', payee_payers, '-inf', '(' .. fmt(ts - TRIM))
  first_payer = tostring(redis.call('HSETNX', payee_first, customer, fmt(ts)))
  -- A payee has no velocity series to stamp: its two keys are renewed on each of its events.
  expire[payee_payers] = TTL_VELOCITY
  expire[payee_first] = TTL_PROFILE
else
  out[#out + 1] = ''
  out[#out + 1] = ''
  undo[#undo + 1] = '-'
end

local as_of = redis.call('GET', ARGV[14])
if as_of then
  out[#out + 1] = as_of
  -- The entries' names: cold.entry_key's.
  local scope = ':' .. ARGV[2] .. ':'
  local cold = redis.call('HMGET', ARGV[14] .. ':' .. as_of, COLD_CUSTOMER .. scope .. customer,
    COLD_MERCHANT .. scope .. merchant, COLD_DEVICE .. scope .. device,
    COLD_IP .. scope .. ARGV[11])
  for i = 1, 4 do
    out[#out + 1] = cold[i] or ''
  end
else
  for _ = 1, 5 do
    out[#out + 1] = ''
  end
end

-- First seen: the earliest time at or before this event ('-': never before it). The undo
-- mark: '-' unchanged, 'n' set for the first time, 'i' one more event at that very time,
-- 'p<ts>,<n>' lowered from an earlier first time (a late event). Returns the fields to set.
local first_undo = {}
local function first_seen(i, f, fn)
  local first = f and tonumber(f)
  if first and first <= ts then
    out[#out + 1] = f
  else
    out[#out + 1] = '-'
  end
  if not first then
    first_undo[i] = 'n'
    return {'f', fmt(ts), 'fn', '1'}
  elseif ts < first then
    first_undo[i] = 'p' .. f .. ',' .. fn
    return {'f', fmt(ts), 'fn', '1'}
  elseif ts == first then
    first_undo[i] = 'i'
    return {'fn', tostring(tonumber(fn) + 1)}
  end
  first_undo[i] = '-'
  return {}
end

for i = 1, 3 do
  if first_ids[i] == '' then
    out[#out + 1] = ''
    first_undo[i] = '-'
  elseif i == 2 then
    for _, v in ipairs(first_seen(i, profile[5], profile[6])) do
      customer_set[#customer_set + 1] = v
    end
  else
    local key = first_keys[i]
    local state = redis.call('HMGET', key, 'f', 'fn')
    local set = first_seen(i, state[1], state[2])
    if #set > 0 then
      redis.call('HSET', key, unpack(set))
    end
    if not state[1] then
      expire[key] = TTL_FIRST_SEEN
    end
  end
end

redis.call('HSET', customer_key, unpack(customer_set))

local payload = table.concat(out, '|')
redis.call('SET', seen_key, ARGV[6] .. '#' .. payload, 'PX', TTL_SEEN)
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
redis.call('SET', undo_key, table.concat(undo, '|'), 'PX', TTL_UNDO)
for key, ttl in pairs(expire) do
  redis.call('PEXPIRE', key, ttl)
end
return '0' .. payload
