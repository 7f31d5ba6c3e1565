#include "instances.hpp"

#include <chrono>
#include <thread>

namespace presence::scaleout {

namespace {
bool g_cluster = false;

// One cluster for the whole run (starting one takes seconds); every test starts it empty.
RedisCluster* shared_cluster(std::string& err) {
    static std::unique_ptr<RedisCluster> cluster;
    if (!cluster) {
        auto c = std::make_unique<RedisCluster>();
        if (!c->start(&err, 3)) return nullptr;
        cluster = std::move(c);
    }
    for (int i = 0; i < cluster->size(); ++i) {
        const std::string r = cluster->node(i).cli({"FLUSHALL"});
        if (r != "OK") {
            err = "FLUSHALL on node " + std::to_string(i) + ": " + r;
            return nullptr;
        }
    }
    return cluster.get();
}
}  // namespace

void use_cluster(bool on) {
    g_cluster = on;
}
bool cluster_mode() {
    return g_cluster;
}

void Instances::start(int n, HostOptions base) {
    base_ = std::move(base);
    std::string err;
    if (g_cluster) {
        cluster_ = shared_cluster(err);
        CHECK_TEXT(cluster_ != nullptr, ("redis cluster: " + err).c_str());
        url_ = cluster_->url();
    } else {
        redis_ = std::make_unique<RedisServer>();
        CHECK_TEXT(redis_->start(&err), ("redis-server: " + err).c_str());
        url_ = redis_->url();
    }
    for (int i = 0; i < n; ++i) {
        hosts_.push_back(make_host("i" + std::to_string(i)));
        CHECK_TEXT(hosts_.back()->start(), hosts_.back()->error().c_str());
    }
}

std::unique_ptr<HostProcess> Instances::make_host(const std::string& instance_id) {
    HostOptions o = base_;
    o.set("presence.redis_url", url_);
    o.set("presence.instance_id", instance_id);
    return std::make_unique<HostProcess>(o);
}

RedisServer& Instances::feed_redis() {
    if (redis_) return *redis_;
    const int owner = cluster_->owner_of_slot(cluster_->key_slot("{presence}"));
    return cluster_->node(owner < 0 ? 0 : owner);
}

std::string Instances::cli(const std::string& key, const std::vector<std::string>& argv) {
    if (redis_) return redis_->cli(argv);
    const int owner = cluster_->owner_of_slot(cluster_->key_slot(key));
    return cluster_->node(owner < 0 ? 0 : owner).cli(argv);
}

void Instances::stop_all() {
    for (auto& h : hosts_) stop_cleanly(h);
    hosts_.clear();
}

Instances::~Instances() {
    for (auto& h : hosts_) {
        if (h) h->stop();
    }
}

void connect_alice_then_bob(Instances& in, WsClient& alice, WsClient& bob) {
    connect_user(in.host(0), alice, "alice");
    connect_user(in.host(1), bob, "bob");
    next_presence_about(alice, "bob");
}

void connect_alice_carol_then_bob(Instances& in, WsClient& alice, WsClient& carol, WsClient& bob) {
    connect_user(in.host(0), alice, "alice");
    connect_user(in.host(2), carol, "carol");
    next_presence_about(alice, "carol");
    connect_user(in.host(1), bob, "bob");
    next_presence_about(alice, "bob");
    next_presence_about(carol, "bob");
}

Json wait_presence(WsClient& ws, const std::string& subject, const std::string& status,
                   milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        CHECK_TEXT(left.count() > 0, ("no presence " + status + " about " + subject).c_str());
        Json j = ws.read_json(left);
        CHECK_TEXT(j.valid(), ("no presence " + status + " about " + subject).c_str());
        if (j["type"].str() != "presence") continue;
        CHECK_TEXT(j["user_id"].str() == subject,
                   ("unexpected presence event " + j.dump()).c_str());
        if (j["status"].str() == status) return j;
    }
}

Json wait_self(WsClient& ws, std::int64_t connections, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        CHECK_TEXT(left.count() > 0, "no presence_self with the expected connection count");
        Json j = ws.read_json(left);
        CHECK_TEXT(j.valid(), "no presence_self with the expected connection count");
        if (j["type"].str() == "presence_self" && j["connections"].i64() == connections) return j;
    }
}

bool eventually(const std::function<bool()>& done, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(milliseconds{50});
    }
    return done();
}

}  // namespace presence::scaleout
