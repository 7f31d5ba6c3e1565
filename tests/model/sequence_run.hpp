// One model-based run: the plugin (through PluginDriver) and the ReferenceModel side by side.
// sequence_run.cpp applies ops and timers to both; frame_checks.cpp compares what the plugin
// sent after each hook with the model. Internal to tests/model.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "json.hpp"
#include "model_runner.hpp"
#include "plugin_driver.hpp"
#include "reference_model.hpp"

namespace presence::model::detail {

using presence::test::Json;
using presence::test::json_quote;

inline constexpr std::int64_t kStartMs = 1'700'000'000'000;
inline constexpr std::int64_t kOpStepMs = 100;  // time between two ops
inline constexpr std::int64_t kGraceMs = 3000;
inline constexpr std::int64_t kHeartbeatMs = 10000;
inline constexpr int kMaxDevices = 3;

struct Failure {
    std::string why;
};

std::string id(int u);
std::string show(const View& v);
std::string show(const SelfView& s);
View parse_view(const Json& j);
SelfView parse_self(const Json& j);
int status_code(const std::string& s);

struct Expect {
    std::set<std::uint64_t> new_conns;       // expect the snapshot
    int forced_self_user = -1;               // an update: presence_self to every device
    std::uint64_t ack_conn = 0;              // a heartbeat ack
    std::uint64_t query_conn = 0;            // a presence_result for query_ids
    std::vector<int> query_ids;              // expected users, in order
    std::set<std::uint64_t> timeout_closes;  // closes (1001) expected in this hook
    // friendships(): as n calls of friendship(), so one presence_self per step that changed a
    // user's own state (a list entry leaving); replaces the usual 0/1 when set.
    std::optional<std::map<int, std::size_t>> self_frames;
    std::uint64_t error_conn = 0;  // an error frame with error_code
    std::string error_code;
};

class Run {
  public:
    Run(const RunOptions& opt, std::string* trace)
        : model_(kUsers, kGraceMs, kHeartbeatMs),
          before_(model_),
          driver_(kStartMs, {{"presence.offline_grace_s", opt.plugin_grace_s},
                             {"presence.heartbeat_timeout_s", "10"},
                             {"presence.updates_per_s", "1000"},
                             {"presence.instance_id", "model"}}),
          trace_(trace) {}

    bool ready(std::string& why) const {
        why = driver_.error();
        return driver_.ok();
    }

    void apply(const Op& op);

    RunStats stats;

  private:
    void advance(std::int64_t dt);
    void tick_at(std::int64_t t);
    std::optional<std::uint64_t> device(int u, int slot) const;
    void expect_users(int viewer, const std::vector<int>& ids, const Json& users,
                      const std::string& what);
    void check(const Expect& e, const std::string& hook);
    void check_changes(const std::string& hook);
    void check_conn(const Expect& e, int v, std::uint64_t c,
                    const std::vector<std::string>& frames);
    void note(const std::string& line) {
        if (trace_) *trace_ += "  t=" + std::to_string(now_ - kStartMs) + " " + line + "\n";
    }
    std::string update_body(const Op& op, bool with_type) const;
    void set_status_in_model(const Op& op);
    void check_list_answer(const HttpAnswer& a, int u, bool accepted, const std::string& what);
    void rest_reads(const Op& op);

    // Compares what the plugin showed `viewer` of `target` with the model, pinning a last_seen
    // range.
    bool agree(const View& got, const View& want, int viewer, int target);

    ReferenceModel model_;
    ReferenceModel before_;  // the model before the hook being checked
    PluginDriver driver_;
    std::string* trace_;
    std::int64_t now_ = kStartMs;
    std::uint64_t next_conn_ = 1;
};

}  // namespace presence::model::detail
