#include <algorithm>

#include "model_runner.hpp"
#include "sequence_run.hpp"

namespace presence::model {

std::vector<Op> shrink(std::vector<Op> ops, const RunOptions& opt, int max_runs) {
    int runs = 0;
    auto fails = [&](const std::vector<Op>& s) {
        ++runs;
        return !run_sequence(s, opt).ok;
    };
    // Everything after the failing op is irrelevant.
    const RunResult first = run_sequence(ops, opt);
    if (first.ok) return ops;
    ops.resize(first.failed_op + 1);
    auto try_replace = [&](std::vector<Op> candidate) {
        if (runs >= max_runs || !fails(candidate)) return false;
        ops = std::move(candidate);
        return true;
    };
    for (bool progress = true; progress && runs < max_runs;) {
        progress = false;
        // 1. Drop chunks, halving their size down to single ops.
        for (std::size_t chunk = std::max<std::size_t>(ops.size() / 2, 1); chunk >= 1; chunk /= 2) {
            for (std::size_t at = 0; at + chunk <= ops.size() && runs < max_runs;) {
                std::vector<Op> candidate = ops;
                candidate.erase(candidate.begin() + static_cast<std::ptrdiff_t>(at),
                                candidate.begin() + static_cast<std::ptrdiff_t>(at + chunk));
                if (try_replace(std::move(candidate))) {
                    progress = true;
                } else {
                    at += chunk;
                }
            }
            if (chunk == 1) break;
        }
        // 2. An op that only matters for the time it takes becomes a clock step of that time,
        // and neighbouring clock steps merge: timing failures shrink too.
        for (std::size_t i = 0; i < ops.size(); ++i) {
            if (ops[i].kind == OpKind::Clock) continue;
            std::vector<Op> candidate = ops;
            candidate[i] = Op{};
            candidate[i].dt_ms = detail::kOpStepMs;
            progress |= try_replace(std::move(candidate));
        }
        for (std::size_t i = 0; i + 1 < ops.size();) {
            if (ops[i].kind == OpKind::Clock && ops[i + 1].kind == OpKind::Clock) {
                std::vector<Op> candidate = ops;
                candidate[i].dt_ms += candidate[i + 1].dt_ms;
                candidate.erase(candidate.begin() + static_cast<std::ptrdiff_t>(i) + 1);
                if (try_replace(std::move(candidate))) {
                    progress = true;
                    continue;
                }
            }
            ++i;
        }
    }
    return ops;
}

}  // namespace presence::model
