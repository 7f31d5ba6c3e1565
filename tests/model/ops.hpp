// The operations of a model-based run, their random generation from a seed, and a readable
// form for the shrunk sequence a failure prints. An op names users and device slots, never
// connection ids, so that any sub-sequence (what the shrinker tries) still means something: an
// op whose device does not exist at that point is skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace presence::model {

enum class OpKind {
    Connect,       // user opens a device
    Disconnect,    // user's device `slot` closes
    Update,        // WebSocket presence_update on device `slot`
    RestStatus,    // PUT /status
    Heartbeat,     // presence_heartbeat with `idle` on device `slot`
    VisAdd,        // PUT /visibility/{other}
    VisRemove,     // DELETE /visibility/{other}
    VisReplace,    // PUT /visibility with the users of `mask`
    FriendAdd,     // ABI friendship(ADD, user, other)
    FriendRemove,  // ABI friendship(REMOVE, user, other)
    Clock,         // time passes: `dt_ms`
    Query,         // WebSocket presence_query of the users of `mask` (+ unknown, duplicates)
    RestRead,      // GET /users/{other}, GET /friends, POST /query, GET /me, GET /visibility
    FriendBulk,    // ABI friendships(): three adds/removes from `mask`, or a batch with a bad op
    BadUpdate,     // a presence_update the plugin must refuse (an error frame, nothing changes)
};

struct Op {
    OpKind kind = OpKind::Clock;
    int user = 0;
    int other = 0;
    int slot = 0;
    int status = 0;   // index into kStatuses
    int message = 0;  // index into kMessages (0: absent)
    int until = 0;    // index into kUntils (0: none)
    bool idle = false;
    std::int64_t dt_ms = 0;
    unsigned mask = 0;
};

inline constexpr const char* kStatuses[] = {"online", "away", "dnd", "invisible"};
// 0: absent (keep), 1: null (clear), 2: "" (clears too), then texts.
inline constexpr const char* kMessages[] = {nullptr, nullptr,      "",
                                            "lunch", "say \"hi\"", "caf\xc3\xa9 \xe2\x98\x95"};
// Offsets from now; never a multiple of 100 ms, so an expiry never meets another timer.
inline constexpr std::int64_t kUntils[] = {0, 1050, 2550, 4050, 15050};

std::vector<Op> generate_ops(std::uint64_t seed, int n_users, int n_ops);
std::string describe(const Op& op);

}  // namespace presence::model
