// RedisClient::run: commands go out in rounds. Each round writes every node's batch (pipelined)
// before reading any answer, then sorts the answers: final replies are kept, MOVED / ASK /
// TRYAGAIN / CLUSTERDOWN / NOSCRIPT send the command again in the next round, and a connection
// error reloads the slot map (a failover moves slots) before the next round. Rounds stop when
// every command has its reply, at the total deadline, or when the retry budgets run out.
#include <algorithm>
#include <thread>

#include "redis/client_impl.hpp"
#include "redis/cluster_slots.hpp"

namespace presence::redis {
namespace {

using std::chrono::milliseconds;

// TRYAGAIN / CLUSTERDOWN / connection-error retries per command (each after a short sleep or a
// map reload); MOVED and ASK are bounded by ClientOptions::max_redirects instead.
constexpr int kMaxRetries = 5;

struct Job {
    const Command* command = nullptr;
    std::size_t index = 0;  // in the caller's order
    int redirects = 0;
    int retries = 0;
    int ask_node = -1;  // ASK: the next attempt goes there, after ASKING
    bool eval = false;  // NOSCRIPT seen: send EVAL with the body
    bool done = false;
    bool asked = false;  // this round's attempt was sent with ASKING
    Reply last;          // the last retryable error, final if the budget runs out
};

bool retryable_cluster_error(const Reply& r) {
    return r.is_error_with("TRYAGAIN") || r.is_error_with("CLUSTERDOWN");
}

}  // namespace

bool RedisClient::Impl::run(std::span<const Command> commands, std::vector<Reply>& out) {
    out.clear();
    out.resize(commands.size());
    if (commands.empty()) return true;
    const auto deadline = Clock::now() + milliseconds(2 * std::max(options.command_timeout_ms, 1));
    for (auto& node : nodes) node->down = false;

    std::vector<Job> jobs(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
        jobs[i].command = &commands[i];
        jobs[i].index = i;
    }
    auto finish = [&](Job& job, Reply reply) {
        out[job.index] = std::move(reply);
        job.done = true;
    };

    if (!url.cluster && nodes.empty()) node_index(url.nodes.front());
    if (url.cluster && !map_loaded) {
        std::string why;
        if (load_slot_map(why) != ConnectResult::Ok) {
            for (Job& job : jobs) finish(job, Reply::error("IOERR " + why));
            return false;
        }
    }

    std::vector<std::string_view> args;
    const int max_rounds = options.max_redirects + kMaxRetries + 2;
    for (int round = 0; round < max_rounds && Clock::now() < deadline; ++round) {
        bool reload = false;
        bool sleep = false;
        std::vector<std::vector<Job*>> batches(nodes.size());
        for (Job& job : jobs) {
            if (job.done) continue;
            const Command& cmd = *job.command;
            if (cmd.argv.empty() && cmd.script == nullptr) {
                finish(job, Reply::error("ERR empty command"));
                continue;
            }
            const int target = job.ask_node >= 0 ? job.ask_node : route(cmd);
            if (target < 0) {
                // The map has a hole (resharding, a node removed): reload and retry, bounded.
                if (++job.retries > kMaxRetries) {
                    finish(job, Reply::error("IOERR no known node serves slot " +
                                             std::to_string(key_slot(cmd.key))));
                } else {
                    reload = true;
                }
                continue;
            }
            ClientNode& node = *nodes[static_cast<std::size_t>(target)];
            if (node.down) {
                finish(job, Reply::error("IOERR " + node.error));
                continue;
            }
            batches[static_cast<std::size_t>(target)].push_back(&job);
        }

        // A connection error: the commands that got no reply are retried after a map reload
        // if their slot moved (failover), otherwise they end with IOERR.
        auto connection_lost = [&](ClientNode& node, Job& job) {
            node.down = true;
            if (node.error.empty()) node.error = node.conn->last_error();
            job.ask_node = -1;
            if (url.cluster && ++job.retries <= kMaxRetries) {
                reload = true;
            } else {
                finish(job, Reply::error("IOERR " + node.error));
            }
        };

        // Write every node's batch first, so the nodes work in parallel.
        std::vector<bool> sent(batches.size(), false);
        for (std::size_t n = 0; n < batches.size(); ++n) {
            if (batches[n].empty()) continue;
            ClientNode& node = *nodes[n];
            node.error.clear();
            bool ok = ensure(node);
            for (Job* job : batches[n]) {
                if (!ok) break;
                const Command& cmd = *job->command;
                job->asked = job->ask_node >= 0;
                if (job->asked) ok = node.conn->append(std::vector<std::string_view>{"ASKING"});
                args.clear();
                if (cmd.script != nullptr) {
                    const bool eval = job->eval || cmd.script->sha1.empty();
                    args.push_back(eval ? "EVAL" : "EVALSHA");
                    args.push_back(eval ? cmd.script->body : cmd.script->sha1);
                }
                args.insert(args.end(), cmd.argv.begin(), cmd.argv.end());
                ok = ok && node.conn->append(args);
            }
            ok = ok && node.conn->flush();
            if (!ok) {
                for (Job* job : batches[n]) connection_lost(node, *job);
                continue;
            }
            sent[n] = true;
        }

        for (std::size_t n = 0; n < batches.size(); ++n) {
            if (!sent[n]) continue;
            ClientNode& node = *nodes[n];
            std::size_t expected = 0;
            for (Job* job : batches[n]) expected += job->asked ? 2 : 1;
            // No read may outlast the run's deadline.
            const auto left =
                std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
            const bool shortened = left < options.command_timeout_ms;
            if (shortened)
                node.conn->set_command_timeout(static_cast<int>(std::max<long long>(left, 1)));
            std::vector<Reply> replies;
            node.conn->receive(expected, replies);
            if (shortened && node.conn->connected()) {
                node.conn->set_command_timeout(options.command_timeout_ms);
            }
            std::size_t next = 0;
            for (Job* job : batches[n]) {
                if (job->asked) ++next;  // ASKING's +OK
                const bool asked = job->asked;
                job->asked = false;
                job->ask_node = -1;  // ASK holds for one attempt only
                if (next >= replies.size()) {
                    connection_lost(node, *job);
                    continue;
                }
                Reply& reply = replies[next++];
                if (url.cluster) {
                    if (auto redirect = parse_redirect(reply, node.endpoint.host)) {
                        ++redirects_followed;
                        if (++job->redirects > options.max_redirects) {
                            finish(*job, std::move(reply));
                        } else if (redirect->ask) {
                            job->ask_node = node_index(redirect->target);
                        } else {
                            slot_owner.resize(kClusterSlots, -1);
                            slot_owner[static_cast<std::size_t>(redirect->slot)] =
                                node_index(redirect->target);
                        }
                        continue;
                    }
                    if (retryable_cluster_error(reply)) {
                        if (++job->retries > kMaxRetries) {
                            finish(*job, std::move(reply));
                        } else {
                            job->last = std::move(reply);
                            sleep = true;
                        }
                        continue;
                    }
                }
                if (reply.is_error_with("NOSCRIPT") && job->command->script != nullptr &&
                    !job->eval) {
                    job->eval = true;  // the node lost its script cache (restart, failover)
                    if (asked) job->ask_node = -1;
                    continue;
                }
                finish(*job, std::move(reply));
            }
        }

        if (reload) {
            std::string why;
            load_slot_map(why);  // failing is fine: the next round ends those commands
        }
        if (sleep) {
            int most_retries = 0;
            for (const Job& job : jobs) {
                if (!job.done) most_retries = std::max(most_retries, job.retries);
            }
            const auto pause = milliseconds(10 << std::min(most_retries, 4));
            const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            if (left > milliseconds(0)) std::this_thread::sleep_for(std::min(pause, left));
        }
        if (std::all_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.done; })) break;
    }

    for (Job& job : jobs) {
        if (job.done) continue;
        if (job.last.is_error()) {
            finish(job, std::move(job.last));
        } else {
            finish(job, Reply::error("IOERR no reply within " +
                                     std::to_string(2 * options.command_timeout_ms) + " ms"));
        }
    }
    bool ok = true;
    for (const Reply& r : out) ok = ok && !r.is_error_with("IOERR");
    return ok;
}

}  // namespace presence::redis
