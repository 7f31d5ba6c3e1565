#include "ops.hpp"

#include <random>

namespace presence::model {

namespace {

struct Weight {
    OpKind kind;
    int weight;
};

constexpr Weight kWeights[] = {
    {OpKind::Connect, 16},     {OpKind::Disconnect, 7}, {OpKind::Update, 14},
    {OpKind::RestStatus, 4},   {OpKind::Heartbeat, 14}, {OpKind::VisAdd, 6},
    {OpKind::VisRemove, 4},    {OpKind::VisReplace, 3}, {OpKind::FriendAdd, 9},
    {OpKind::FriendRemove, 4}, {OpKind::Clock, 10},     {OpKind::Query, 5},
    {OpKind::RestRead, 5},     {OpKind::FriendBulk, 3}, {OpKind::BadUpdate, 2},
};

// Around the grace period (3 s) and the heartbeat timeout (10 s), all multiples of 100 ms.
constexpr std::int64_t kClockSteps[] = {300, 1000, 2900, 3000, 3100, 5000, 9900, 10000, 20000};

}  // namespace

std::vector<Op> generate_ops(std::uint64_t seed, int n_users, int n_ops) {
    std::mt19937_64 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
    int total = 0;
    for (const auto& w : kWeights) total += w.weight;
    std::vector<Op> ops;
    ops.reserve(static_cast<std::size_t>(n_ops));
    for (int i = 0; i < n_ops; ++i) {
        int r = pick(total);
        Op op;
        for (const auto& w : kWeights) {
            if (r < w.weight) {
                op.kind = w.kind;
                break;
            }
            r -= w.weight;
        }
        op.user = pick(n_users);
        op.other = pick(n_users);
        if (op.other == op.user && op.kind != OpKind::RestRead) op.other = (op.user + 1) % n_users;
        op.slot = pick(4);
        op.status = pick(4);
        op.message = pick(static_cast<int>(std::size(kMessages)));
        op.until = op.status == 0 ? 0 : pick(static_cast<int>(std::size(kUntils)));
        op.idle = pick(2) == 1;
        op.dt_ms = kClockSteps[pick(static_cast<int>(std::size(kClockSteps)))];
        op.mask = static_cast<unsigned>(rng()) & ((1u << (n_users + 1)) - 1);
        ops.push_back(op);
    }
    return ops;
}

std::string describe(const Op& op) {
    const std::string u = "u" + std::to_string(op.user);
    const std::string o = "u" + std::to_string(op.other);
    const std::string dev = u + "#" + std::to_string(op.slot);
    auto mask_text = [&] {
        std::string s = "[";
        for (int i = 0; i < 31; ++i) {
            if (op.mask & (1u << i)) s += (s.size() > 1 ? "," : "") + ("u" + std::to_string(i));
        }
        return s + "]";
    };
    auto msg = [&] {
        if (op.message == 0) return std::string("(message kept)");
        if (op.message == 1) return std::string("message=null");
        return "message=\"" + std::string(kMessages[op.message]) + "\"";
    };
    auto until = [&] {
        return op.until == 0 ? std::string() : " until=now+" + std::to_string(kUntils[op.until]);
    };
    switch (op.kind) {
        case OpKind::Connect:
            return "connect " + u;
        case OpKind::Disconnect:
            return "disconnect " + dev;
        case OpKind::Update:
            return "ws update " + dev + " " + kStatuses[op.status] + " " + msg() + until();
        case OpKind::RestStatus:
            return "PUT /status " + u + " " + kStatuses[op.status] + " " + msg() + until();
        case OpKind::Heartbeat:
            return "heartbeat " + dev + (op.idle ? " idle" : " active");
        case OpKind::VisAdd:
            return "PUT /visibility/" + o + " by " + u;
        case OpKind::VisRemove:
            return "DELETE /visibility/" + o + " by " + u;
        case OpKind::VisReplace:
            return "PUT /visibility " + mask_text() + " by " + u;
        case OpKind::FriendAdd:
            return "friendship add " + u + " " + o;
        case OpKind::FriendRemove:
            return "friendship remove " + u + " " + o;
        case OpKind::Clock:
            return "clock +" + std::to_string(op.dt_ms) + " ms";
        case OpKind::Query:
            return "ws query " + dev + " " + mask_text();
        case OpKind::RestRead:
            return "REST reads by " + u + " (users/" + o + ", friends, query, me, visibility)";
        case OpKind::FriendBulk: {
            std::string t = "friendships(";
            for (int i = 0; i < 3; ++i) {
                t += std::string(i ? ", " : "") + ((op.mask >> i) & 1u ? "add " : "remove ") + "u" +
                     std::to_string((op.user + i) % 5) + " u" +
                     std::to_string((op.other + 2 * i) % 5);
            }
            return t + ((op.mask & 8u) ? ", add u0 u0 [bad: refused whole])" : ")");
        }
        case OpKind::BadUpdate:
            return "ws bad update " + dev +
                   (op.idle ? " (online with until)" : " (status offline)");
    }
    return "?";
}

}  // namespace presence::model
