// Several presence-host instances sharing one Redis (or one Redis Cluster): the fixture of the
// scale-out suites. Every instance gets the same friends file, its own instance id ("i0",
// "i1", ...), small timings and presence.redis_url.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "e2e_fixture.hpp"
#include "redis_server.hpp"

namespace presence::scaleout {

using namespace presence::e2e;

void use_cluster(bool on);
bool cluster_mode();

class Instances {
  public:
    // Starts Redis (or the cluster) and `n` hosts; fails the current test when one does not
    // start. `base` adds settings and friendships to every host.
    void start(int n, HostOptions base = small_timings());
    HostProcess& host(int i) { return *hosts_.at(static_cast<std::size_t>(i)); }
    std::unique_ptr<HostProcess>& slot(int i) { return hosts_.at(static_cast<std::size_t>(i)); }
    int size() const { return static_cast<int>(hosts_.size()); }
    const std::string& url() const { return url_; }
    // A host like the others (same friends, same Redis) that is not started yet.
    std::unique_ptr<HostProcess> make_host(const std::string& instance_id);
    // The Redis that holds the feed and the instances' heartbeats (the only one, or the
    // cluster node that owns the {presence} slot).
    RedisServer& feed_redis();
    RedisServer* single() { return redis_.get(); }
    RedisCluster* cluster() { return cluster_; }
    // Runs a command against the Redis of `key` (cli of the owning node).
    std::string cli(const std::string& key, const std::vector<std::string>& argv);
    // Stops every host and checks each stops cleanly (exit 0).
    void stop_all();
    ~Instances();

  private:
    HostOptions base_;
    std::unique_ptr<RedisServer> redis_;
    RedisCluster* cluster_ = nullptr;  // shared by the run's tests
    std::vector<std::unique_ptr<HostProcess>> hosts_;
    std::string url_;
};

// Alice on instance 0, then bob on instance 1; returns once alice has seen bob online.
void connect_alice_then_bob(Instances& in, WsClient& alice, WsClient& bob);
// Alice on 0 and carol on 2 (alice sees carol), then bob on 1 (both see him online).
void connect_alice_carol_then_bob(Instances& in, WsClient& alice, WsClient& carol, WsClient& bob);

// Reads frames until a presence event about `subject` with `status` arrives (skipping others
// about the same subject); fails after `timeout`.
Json wait_presence(WsClient& ws, const std::string& subject, const std::string& status,
                   milliseconds timeout = milliseconds{4000});

// Reads until a presence_self frame with `connections` arrives.
Json wait_self(WsClient& ws, std::int64_t connections, milliseconds timeout = milliseconds{4000});

// Polls `done` every 50 ms until it holds or `timeout` passes; its last answer.
bool eventually(const std::function<bool()>& done, milliseconds timeout);

}  // namespace presence::scaleout
