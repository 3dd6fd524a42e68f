-- Reverse what observe.lua recorded for one event, atomically, in one round trip: later reads
-- are as if the event never came. Mirrors MemoryFeatureStore.forget in memory_store.py.
--
-- ARGV is observe.lua's for the same event (keys.lua). The undo record holds what the event
-- changed; without it (never observed, already forgotten, or older than its TTL) nothing
-- happens. Returns 1 when the event was forgotten, else 0.
--
-- Events recorded since are kept exactly: velocity members after the event's have their
-- cumulative count and sum lowered; a profile changed since loses the amount by reverse
-- Welford instead of being restored; a "last seen" score is restored only while it is still
-- the event's own (a later event that raised it keeps it). No key is left without a TTL: a
-- member is rewritten by adding the new one before removing the old.
local undo = redis.call('GET', undo_key)
if not undo then
  return 0
end
redis.call('DEL', seen_key, undo_key)

local fields = {}
for part in string.gmatch(undo .. '|', '([^|]*)|') do
  fields[#fields + 1] = part
end

-- Velocity: drop the event's member; every member after it counts one event and its amount
-- less. Scores and stamps are kept (a later event recorded at this one's time stays there).
local customer_last = nil
for i, key in ipairs(series) do
  local tail = redis.call('ZRANGEBYSCORE', key, fields[i], '+inf', 'WITHSCORES')
  local own, own_amount = nil, nil
  for j = 1, #tail, 2 do
    local c, _, a, _, r = parse(tail[j])
    if r == ref then
      own, own_amount = c, a
      redis.call('ZREM', key, tail[j])
      break
    end
  end
  if own then
    for j = 1, #tail, 2 do
      local c, s, a, x, r = parse(tail[j])
      if c > own then
        redis.call('ZADD', key, tail[j + 1], member_of(c - 1, s - own_amount, a, x, r))
        redis.call('ZREM', key, tail[j])
      end
    end
  end
  if i == customer_series then
    local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    if #last > 0 then
      customer_last = last[2]
    end
  end
end

-- First seen (the undo record's last three fields): while the entity's first time is still
-- this event's, one event less there; the last one restores the time before it, if any.
for i = 1, 3 do
  local mark = fields[#fields - 3 + i]
  local key = first_keys[i]
  if first_ids[i] ~= '' and mark ~= '-' then
    local state = redis.call('HMGET', key, 'f', 'fn')
    if state[1] and tonumber(state[1]) == ts then
      if tonumber(state[2]) > 1 then
        redis.call('HSET', key, 'fn', tostring(tonumber(state[2]) - 1))
      elseif string.sub(mark, 1, 1) == 'p' then
        local before, n_before = string.match(mark, '^p([^,]+),(.+)$')
        redis.call('HSET', key, 'f', before, 'fn', n_before)
      else
        redis.call('HDEL', key, 'f', 'fn')
      end
    end
  end
end

local pos = #series
local function field()
  pos = pos + 1
  return fields[pos]
end

-- A distinct member goes back to its score before the event, if the event still holds it.
local function lower(key, member)
  local before = field()
  if before == '-' then
    return
  end
  local now = redis.call('ZSCORE', key, member)
  if not now or tonumber(now) ~= ts then
    return
  end
  if before == '' then
    redis.call('ZREM', key, member)
  else
    redis.call('ZADD', key, before, member)
  end
end

lower(card_merchants, merchant)
lower(card_countries, country)
lower(device_cards, card)
lower(payee_payers, customer)

if field() == '1' then
  redis.call('HDEL', customer_key, 'd:' .. device)
end
if field() == '1' then
  redis.call('HDEL', customer_key, 'c:' .. country)
end
if field() == '1' and redis.call('HGET', payee_first, customer) == fmt(ts) then
  redis.call('HDEL', payee_first, customer)
end

-- The profile: restored as it was if nothing changed it since (what observe wrote is
-- recomputed the same way), else the amount is taken out of the running stats.
local last_ts, n_s, mean_s, m2_s = field(), field(), field(), field()
local n = tonumber(n_s ~= '' and n_s or '0')
local mean = tonumber(mean_s ~= '' and mean_s or '0')
local m2 = tonumber(m2_s ~= '' and m2_s or '0')
local x = amount / 1000
local n1 = n + 1
local delta = x - mean
local mean1 = mean + delta / n1
local m21 = m2 + delta * (x - mean1)
local new_last = ts
if last_ts ~= '' then
  new_last = math.max(ts, tonumber(last_ts))
end
local now = redis.call('HMGET', customer_key, 'l', 'n', 'mu', 'm2')
if now[1] == fmt(new_last) and now[2] == tostring(n1) and now[3] == fmt(mean1)
    and now[4] == fmt(m21) then
  if n_s == '' then
    redis.call('HDEL', customer_key, 'l', 'n', 'mu', 'm2')
  else
    redis.call('HSET', customer_key, 'l', last_ts, 'n', n_s, 'mu', mean_s, 'm2', m2_s)
  end
  return 1
end
if not now[2] then
  return 1
end
local cn = tonumber(now[2])
local cmean = tonumber(now[3])
local cm2 = tonumber(now[4])
local rn, rmean, rm2 = 0, 0, 0
if cn > 1 then
  rn = cn - 1
  rmean = (cn * cmean - x) / rn
  rm2 = math.max(0, cm2 - (x - rmean) * (x - cmean))
end
-- The latest time of the customer's remaining events is its series' last score.
local rlast = customer_last or (last_ts ~= '' and last_ts) or now[1]
redis.call('HSET', customer_key, 'l', rlast, 'n', tostring(rn), 'mu', fmt(rmean), 'm2',
  fmt(rm2))
return 1
