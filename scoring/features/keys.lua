-- Shared by observe.lua and forget.lua (store.py puts the constants, then this, before each).
--
-- The key names are built here from the ids: one Redis instance, not a cluster (as the cold
-- generation's name already was), and an event's ~20 names need not travel with each call.
--
-- ARGV: 1 key prefix "<prefix>:<LAYOUT>:<scope>:"  2 scope  3 ts (s)  4 amount (milli-units,
--       integer)  5 ref  6 the request's fingerprint  7 customer  8 merchant  9 card
--       10 device  11 ip  12 country  13 payee ('' : the event has none)  14 the cold pointer
--       key  15 which of card, customer, merchant, device, ip have a velocity series ('1'/'0'
--       each: Event.entity_values' order)
--
-- Layout (one hash per customer instead of four keys, and so on):
--   seen:<ref>            the seen marker, "<fingerprint>#<payload>" (a retry gets it back)
--   undo:<ref>            what forget.lua needs to reverse the event (short TTL)
--   cust:<customer>       hash: l (last ts), n, mu, m2 (running amount stats), f, fn (first
--                         seen: ts and the events at exactly ts), d:<device> and c:<country>
--                         (each '1': the devices and countries the customer used)
--   first:card:<card>, first:device:<device>   hash: f, fn (first seen)
--   card-merchants:<card>, card-countries:<card>, device-cards:<device>,
--   payee-payers:<payee>  zsets: member -> the last time it was seen
--   payee-first:<payee>   hash: payer -> the time of its first payment to the payee
--   <entity>:<id>         velocity series: zset of "cumcount:cumsum:amount:stamp:ref", the
--                         count zero-padded so that members of equal score sort in arrival
--                         order; stamp: the wall-clock period the entity's TTLs were renewed in
local P = ARGV[1]
local ts = tonumber(ARGV[3])
local amount = tonumber(ARGV[4])
local ref = ARGV[5]
local customer, merchant, card, device = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local country, payee = ARGV[12], ARGV[13]
local has_card = string.sub(ARGV[15], 1, 1) == '1'

local seen_key = P .. 'seen:' .. ref
local undo_key = P .. 'undo:' .. ref
local customer_key = P .. 'cust:' .. customer
local card_merchants = P .. 'card-merchants:' .. card
local card_countries = P .. 'card-countries:' .. card
local device_cards = P .. 'device-cards:' .. device
local payee_payers = P .. 'payee-payers:' .. payee
local payee_first = P .. 'payee-first:' .. payee
-- First seen of the card, the customer and the device (FIRST_SEEN_ENTITIES' order).
local first_ids = {card, customer, device}
local first_keys = {P .. 'first:card:' .. card, customer_key, P .. 'first:device:' .. device}

-- The velocity series present, each with the keys renewed with it (its entity's keys).
local series, series_entities = {}, {}
local customer_series = nil
do
  local ids = {ARGV[9], ARGV[7], ARGV[8], ARGV[10], ARGV[11]}
  local names = {'card', 'customer', 'merchant', 'device', 'ip'}
  for i = 1, 5 do
    if string.sub(ARGV[15], i, i) == '1' then
      series[#series + 1] = P .. names[i] .. ':' .. ids[i]
      series_entities[#series] = names[i]
      if i == 2 then
        customer_series = #series
      end
    end
  end
end

local function fmt(x)
  return string.format('%.17g', x)
end

-- A velocity member: cumulative count, cumulative sum, amount, stamp, ref.
local function parse(member)
  local c, s, a, x, r = string.match(member, '^(%d+):(%-?%d+):(%-?%d+):(%d+):(.*)$')
  return tonumber(c), tonumber(s), tonumber(a), x, r
end

local function member_of(count, sum, amt, stamp, r)
  return string.format('%012.0f:%.0f:%.0f:', count, sum, amt) .. stamp .. ':' .. r
end
