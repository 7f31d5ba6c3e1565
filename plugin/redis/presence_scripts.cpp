#include "redis/presence_scripts.hpp"

namespace presence::redis {

namespace {

// Numbers beyond 2^31 print as 1.7e+12 with tostring() in Redis' Lua: format them whole.
// Cheap per call: the hash is read once (HGETALL) and the change written with one HDEL and one
// HSET, the answer built from what was read and written (a status change costs 5-6 calls inside
// the script, not 15 plus a second round trip for the feed). With a second key (the feed: one
// Redis, not a cluster, where the two keys sit in different slots) the new state is also
// appended to the feed here, in the same atomic step as the write, so feed order is version
// order. At most ~3,900 fields fit the XADD (Lua's 8,000 stack slots): hundreds of instances
// times max_connections_per_user.
constexpr const char* kPutUserHead = R"lua(
local key, inst = KEYS[1], ARGV[1]
local prefix = 'd|' .. inst .. '|'
local flat = redis.call('HGETALL', key)
local h = {}
for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
local before, others = 0, 0
local del, set, set_order = {}, {}, {}
local function put(f, v)
  if set[f] == nil then set_order[#set_order + 1] = f end
  set[f] = v
  del[f] = nil
end
local function drop(f)
  if h[f] ~= nil and set[f] == nil then del[f] = true end
end
for i = 1, #flat, 2 do
  local f = flat[i]
  if string.sub(f, 1, 2) == 'd|' then
    before = before + 1
    if string.sub(f, 1, #prefix) == prefix then drop(f) else others = others + 1 end
  end
end
local n = tonumber(ARGV[11])
for i = 0, n - 1 do put(prefix .. ARGV[12 + 2 * i], ARGV[13 + 2 * i]) end
local t = redis.call('TIME')
if others + n > 0 then
  drop('g')
  drop('gi')
elseif before > 0 or h['g'] == nil then
  local left = ARGV[2]
  if left == '' then left = string.format('%.0f', t[1] * 1000 + math.floor(t[2] / 1000)) end
  if before > 0 or ARGV[2] ~= '' then
    put('g', left)
    put('gi', ARGV[3])
  end
end
local mode = ARGV[4]
if mode == '1' or (mode == 'i' and h['s'] == nil) then
  local names = {'s', 'm', 't', 'l', 'L', 'w'}
  for i, name in ipairs(names) do
    local v = ARGV[4 + i]
    if name == 'l' or name == 'L' then
      -- last seen only moves forward, whoever wrote it
      local old = tonumber(h[name] or '0') or 0
      if v ~= '' and tonumber(v) > old then put(name, v) end
    elseif name == 't' and v == '' then
      drop(name)
    else
      put(name, v)
    end
  end
end
local old = tonumber(h['v'] or '0') or 0
put('v', string.format('%.0f', math.max(old + 1, t[1] * 1000000 + t[2])))
local gone = {}
for f, _ in pairs(del) do gone[#gone + 1] = f end
if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
local pairs_out = {}
for _, f in ipairs(set_order) do
  pairs_out[#pairs_out + 1] = f
  pairs_out[#pairs_out + 1] = set[f]
end
redis.call('HSET', key, unpack(pairs_out))
if others + n > 0 then redis.call('PERSIST', key) else redis.call('EXPIRE', key, 86400) end
local out = {}
for i = 1, #flat, 2 do
  local f = flat[i]
  if not del[f] and set[f] == nil then
    out[#out + 1] = f
    out[#out + 1] = flat[i + 1]
  end
end
for _, f in ipairs(set_order) do
  out[#out + 1] = f
  out[#out + 1] = set[f]
end
if #KEYS > 1 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ')lua";

// The feed entry: its own fields (o: origin instance, k: kind, u: user id, the key without
// "presence:{" and "}"), then the hash.
constexpr const char* kPutUserTail = R"lua(', '*', 'o', inst, 'k', 'u',
    'u', string.sub(key, 11, -2), unpack(out))
end
return out
)lua";

constexpr const char* kDropInstance = R"lua(
local key = KEYS[1]
local prefix = 'd|' .. ARGV[1] .. '|'
local removed, left, idle = 0, 0, '0'
for _, f in ipairs(redis.call('HKEYS', key)) do
  if string.sub(f, 1, 2) == 'd|' then
    if string.sub(f, 1, #prefix) == prefix then
      idle = redis.call('HGET', key, f)
      redis.call('HDEL', key, f)
      removed = removed + 1
    else
      left = left + 1
    end
  end
end
if removed == 0 then return {} end
if left == 0 then
  redis.call('HSET', key, 'g', ARGV[2], 'gi', idle)
  redis.call('EXPIRE', key, 86400)
end
local t = redis.call('TIME')
local old = tonumber(redis.call('HGET', key, 'v') or '0')
redis.call('HSET', key, 'v', string.format('%.0f', math.max(old + 1, t[1] * 1000000 + t[2])))
return redis.call('HGETALL', key)
)lua";

constexpr const char* kHeartbeat = R"lua(
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
local out = {added, now}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]), 'WITHSCORES')
for i = 1, #dead, 2 do
  if dead[i] ~= ARGV[1] then
    out[#out + 1] = dead[i]
    out[#out + 1] = dead[i + 1]
  end
end
return out
)lua";

}  // namespace

const Script& put_user_script() {
    static const Script s(std::string(kPutUserHead) + kFeedMaxLen + kPutUserTail);
    return s;
}

const Script& drop_instance_script() {
    static const Script s(kDropInstance);
    return s;
}

const Script& heartbeat_script() {
    static const Script s(kHeartbeat);
    return s;
}

}  // namespace presence::redis
