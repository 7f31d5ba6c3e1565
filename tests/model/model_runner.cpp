#include "model_runner.hpp"

#include "sequence_run.hpp"

namespace presence::model {

using detail::Failure;
using detail::Run;

void RunStats::add(const RunStats& o) {
    ops_applied += o.ops_applied;
    ops_skipped += o.ops_skipped;
    frames += o.frames;
    presence_frames += o.presence_frames;
    silent_views += o.silent_views;
    snapshots += o.snapshots;
    rest_answers += o.rest_answers;
    timeouts += o.timeouts;
    host_changes += o.host_changes;
}

RunResult run_sequence(const std::vector<Op>& ops, const RunOptions& opt, std::string* trace) {
    Run run(opt, trace);
    RunResult r;
    std::string why;
    if (!run.ready(why)) {
        r.ok = false;
        r.why = "create failed: " + why;
        return r;
    }
    for (std::size_t i = 0; i < ops.size(); ++i) {
        try {
            run.apply(ops[i]);
        } catch (const Failure& f) {
            r.stats = run.stats;
            r.ok = false;
            r.failed_op = i;
            r.why = f.why;
            return r;
        }
    }
    r.stats = run.stats;
    return r;
}

}  // namespace presence::model
