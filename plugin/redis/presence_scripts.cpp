#include "redis/presence_scripts.hpp"

namespace presence::redis {

namespace {

// put_one: one user's change (see put_user_script), its arguments read from A starting at i;
// returns the whole hash after the change and the index after this user's arguments. The hash
// is read once, the new state worked out in Lua, and only what changed is written (one HDEL,
// one HSET): with ~16 calls a status change cost Redis 21-33 us, with these 5 15-23 us
// (redis-benchmark, 20 users a call). The HSET and HDEL unpack at most 2 x (devices + 8)
// values, well inside Lua's 8,000 (max_connections_per_user is at most 1,000). Numbers beyond
// 2^31 print as 1.7e+12 with tostring() in Redis' Lua: they are formatted whole.
constexpr const char* kPutOne = R"lua(
local function put_one(key, inst, A, i)
local h = redis.call('HGETALL', key)
local prefix = 'd|' .. inst .. '|'
local cur, mine, set, gone = {}, {}, {}, {}
local before, others = 0, 0
for j = 1, #h, 2 do
  local f = h[j]
  if string.sub(f, 1, 2) == 'd|' then
    before = before + 1
    if string.sub(f, 1, #prefix) == prefix then
      mine[f] = h[j + 1]
    else
      others = others + 1
      cur[f] = h[j + 1]
    end
  else
    cur[f] = h[j + 1]
  end
end
local function put(f, v)
  if cur[f] ~= v then set[#set + 1] = f; set[#set + 1] = v end
  cur[f] = v
end
local function drop(f)
  if cur[f] then gone[#gone + 1] = f; cur[f] = nil end
end
-- this instance's devices: replaced by the ones sent
local n = tonumber(A[i + 9])
for d = 0, n - 1 do
  local f = prefix .. A[i + 10 + 2 * d]
  cur[f] = mine[f]
  mine[f] = nil
  put(f, A[i + 11 + 2 * d])
end
for f in pairs(mine) do gone[#gone + 1] = f end
local t = redis.call('TIME')
if others + n > 0 then
  drop('g')
  drop('gi')
elseif before > 0 or cur.g == nil then
  local left = A[i]
  if left == '' then left = string.format('%.0f', t[1] * 1000 + math.floor(t[2] / 1000)) end
  if before > 0 or A[i] ~= '' then
    put('g', left)
    put('gi', A[i + 1])
  end
end
local mode = A[i + 2]
if mode == '1' or (mode == 'i' and cur.s == nil) then
  local names = {'s', 'm', 't', 'l', 'L', 'w'}
  for k = 1, 6 do
    local name, v = names[k], A[i + 2 + k]
    if name == 'l' or name == 'L' then
      -- last seen only moves forward, whoever wrote it
      if v ~= '' and tonumber(v) > tonumber(cur[name] or '0') then put(name, v) end
    elseif name == 't' and v == '' then
      drop('t')
    else
      put(name, v)
    end
  end
end
put('v', string.format('%.0f', math.max(tonumber(cur.v or '0') + 1, t[1] * 1000000 + t[2])))
if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
redis.call('HSET', key, unpack(set))
if others + n > 0 then redis.call('PERSIST', key) else redis.call('EXPIRE', key, 86400) end
local out = {}
for f, v in pairs(cur) do out[#out + 1] = f; out[#out + 1] = v end
return out, i + 10 + 2 * n
end
)lua";

constexpr const char* kPutUser = R"lua(
return (put_one(KEYS[1], ARGV[1], ARGV, 2))
)lua";

// Every user of the batch in one call (the per-call cost of EVALSHA paid once), and for each a
// feed entry carrying the hash packed as one MessagePack array: 8 fields instead of ~30, which
// is what Redis formats again for every reader and what every reader parses. Feed order is
// version order. The answer is the packed hashes, in KEYS order.
constexpr const char* kPutUsersHead = R"lua(
local inst, out, i = ARGV[1], {}, 2
for k = 2, #KEYS do
  local key, at = KEYS[k], i
  i = i + 10 + 2 * tonumber(ARGV[i + 9])
  -- One user's failure (a key of another type, put there by someone else) is that user's
  -- alone: its answer is the error, the others' changes go on.
  local ok, hash = pcall(put_one, key, inst, ARGV, at)
  if not ok then
    out[#out + 1] = redis.error_reply(type(hash) == 'table' and hash.err or tostring(hash))
  else
    local packed = cmsgpack.pack(hash)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ')lua";

// The entry's own fields: o origin instance, k kind ("p": packed user), u user id (the key
// without "presence:{" and "}"), h the packed hash.
constexpr const char* kPutUsersTail = R"lua(', '*', 'o', inst, 'k', 'p',
      'u', string.sub(key, 11, -2), 'h', packed)
    out[#out + 1] = packed
  end
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
    static const Script s(std::string(kPutOne) + kPutUser);
    return s;
}

const Script& put_users_script() {
    static const Script s(std::string(kPutOne) + kPutUsersHead + kFeedMaxLen + kPutUsersTail);
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
