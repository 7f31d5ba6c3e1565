// The Redis link (SPEC 9): every Redis call of the plugin runs here, on two worker threads,
// never on the host's loop thread.
//   - the writer runs users' scripts (with one Redis one script call per up to 64 changes,
//     which also appends them to the change feed; with a cluster one per change, pipelined, the
//     feed written after), answers
//     fetches, beats this instance's heartbeat every second
//     and reaps instances silent for longer than instance_ttl/3 (claimed with SET NX, so exactly
//     one survivor reaps each);
//   - after Redis lost its data (a node restarted empty), it asks the loop side to read every
//     loaded user again only once every instance known before the loss has registered its
//     connections again (its mark in {presence}:registered names the restart it follows) or
//     stayed silent past the reap period: until then a user missing from Redis may just belong
//     to an instance slower to come back, and must keep their last known presence;
//   - the reader follows the change feed (a Redis Stream) with a blocking XREAD from the last
//     id it saw, so a dropped connection resumes where it stopped.
// What they produce becomes LinkEvents, taken by the loop thread after the host's wake.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/types.hpp"
#include "redis/link_event.hpp"
#include "redis/redis_client.hpp"
#include "redis/user_hash.hpp"

namespace presence::redis {

struct LinkOptions {
    RedisUrl url;
    std::string instance;                   // this instance's id (never holds '|')
    core::Millis instance_ttl_ms = 15'000;  // dead after ttl/3 of silence
    core::Millis heartbeat_ms = 1'000;
    std::function<void()> wake;  // the host's wake: any thread
};

struct LinkStats {
    bool up = false;
    std::uint64_t published = 0;      // changes written to the feed by this instance
    std::uint64_t feed_received = 0;  // feed entries of other instances read
    std::uint64_t instances_reaped = 0;
    std::uint64_t users_reaped = 0;
    core::Millis feed_lag_ms = 0;  // age of the newest feed entry when read
};

class RedisLink {
  public:
    // Tries Redis once, synchronously (create() may block for the connect timeout): Refused
    // (wrong password, not a Redis) returns nullptr with `why` quoting Redis' answer;
    // Unreachable starts degraded and retries in the background.
    static std::unique_ptr<RedisLink> start(LinkOptions options, std::string& why);
    ~RedisLink();
    RedisLink(const RedisLink&) = delete;
    RedisLink& operator=(const RedisLink&) = delete;

    // ---- loop thread ----
    void put(const core::SharedUser& user);
    void friendship(bool add, const std::string& a, const std::string& b);
    // Reads the hashes of `users`; answered by a Fetched event with the returned token (ok
    // false and no hashes when Redis is down).
    std::uint64_t fetch(std::vector<std::string> users);
    // Every connection of this instance has been sent again (after the puts queued so far):
    // marks this instance registered for the Redis it sees now, once those puts are taken.
    void registered();
    void take(std::vector<LinkEvent>& out);
    LinkStats stats() const;
    // Stops both threads. `clean`: first removes this instance's devices from every user it
    // holds (announced on the feed) and its heartbeat, waiting at most max_wait_ms.
    void stop(bool clean, int max_wait_ms);

  private:
    struct Job;
    explicit RedisLink(LinkOptions options);

    void writer_main();
    void reader_main();
    bool ensure_connected(RedisClient& client, bool& was_up, const char* who);
    void run_jobs(std::vector<Job>& jobs);
    // The feed entry of a user's hash as fields (a cluster's put, a reaped instance's users).
    Command user_feed_entry(const std::string& user, const Reply& hash) const;
    void beat();
    void settle(const std::map<std::string, core::Millis>& members, core::Millis now,
                core::Millis dead_after);
    void reap(const std::string& instance, const std::string& score);
    void drop_all_of(const std::string& instance, const std::string& gone_since,
                     bool announce_locally);
    void read_feed();
    void check_gap();
    void emit(LinkEvent e);
    void log(int level, std::string text);
    void set_up(bool up, bool data_lost);

    LinkOptions options_;
    std::string feed_key_, instances_key_, own_set_key_, registered_key_;
    std::unique_ptr<RedisClient> writer_client_;
    std::unique_ptr<RedisClient> reader_client_;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    std::vector<LinkEvent> events_;
    bool stopping_ = false;
    bool clean_stop_ = false;
    std::uint64_t next_token_ = 1;

    // Writer-thread state.
    bool writer_up_ = false;
    bool registered_ = false;
    bool cleaned_ = false;  // a previous run under this instance id left nothing behind
    std::map<std::string, std::string> run_ids_;  // node -> run_id last seen
    std::unordered_set<std::string> in_own_set_;  // users this instance put in its set
    std::set<std::string> peers_;     // other instances in the heartbeat set at the last beat
    std::set<std::string> awaiting_;  // after a data loss: peers not registered again yet
    bool resync_owed_ = false;        // after a data loss: the resync waits for awaiting_
    bool put_failed_ = false;         // a put refused since the last mark asked for
    // The new run ids of the nodes whose restart was seen last: an instance's mark in
    // {presence}:registered (the run ids it knows) counts once it holds them all, so a mark
    // left before that loss does not count after it.
    std::vector<std::string> restart_ids_;
    bool warned_unreachable_ = false;
    core::Millis up_since_ = 0;
    core::Millis next_beat_ = 0;
    // Reader-thread state.
    bool reader_up_ = false;
    std::string last_id_;
    core::Millis next_gap_check_ = 0;

    std::atomic<bool> up_{false};
    std::atomic<bool> gap_{false};  // the reader saw a feed gap: the writer asks for the resync
    std::atomic<std::uint64_t> published_{0}, received_{0}, reaped_instances_{0}, reaped_users_{0};
    std::atomic<core::Millis> feed_lag_ms_{0};

    std::thread writer_;
    std::thread reader_;
};

}  // namespace presence::redis
