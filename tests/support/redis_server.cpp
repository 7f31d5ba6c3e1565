#include "redis_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "tcp_socket.hpp"

namespace presence::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kSlots = 16384;

std::string find_redis_server() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        const std::string candidate = (dir.empty() ? "." : dir) + "/redis-server";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "/usr/bin/redis-server";
}

std::string percent_encode(const std::string& in) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : in) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string resp_command(const std::vector<std::string>& argv) {
    std::string out = "*" + std::to_string(argv.size()) + "\r\n";
    for (const auto& a : argv) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    return out;
}

// One RESP2 reply at buf[pos..] as text. 1: complete (pos moved past it), 0: more bytes
// needed, -1: not RESP.
int parse_reply(const std::string& buf, std::size_t& pos, std::string& text) {
    if (pos >= buf.size()) return 0;
    const auto eol = buf.find("\r\n", pos);
    if (eol == std::string::npos) return 0;
    const char type = buf[pos];
    const std::string line = buf.substr(pos + 1, eol - pos - 1);
    std::size_t next = eol + 2;
    switch (type) {
        case '+':
        case '-':
        case ':':
            text = line;
            pos = next;
            return 1;
        case '$': {
            const long long n = std::atoll(line.c_str());
            if (n < 0) {
                text = "(nil)";
                pos = next;
                return 1;
            }
            if (buf.size() < next + static_cast<std::size_t>(n) + 2) return 0;
            text = buf.substr(next, static_cast<std::size_t>(n));
            pos = next + static_cast<std::size_t>(n) + 2;
            return 1;
        }
        case '*': {
            const long long n = std::atoll(line.c_str());
            if (n < 0) {
                text = "(nil)";
                pos = next;
                return 1;
            }
            std::string joined;
            for (long long i = 0; i < n; ++i) {
                std::string element;
                const int r = parse_reply(buf, next, element);
                if (r != 1) return r;
                if (i > 0) joined += '\n';
                joined += element;
            }
            text = std::move(joined);
            pos = next;
            return 1;
        }
        default:
            return -1;
    }
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, sep)) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RedisServer

RedisServer::~RedisServer() {
    kill_hard();
}

bool RedisServer::start(std::string* err, Options o) {
    kill_hard();
    options_ = std::move(o);
    dir_ = std::make_unique<TempDir>("presence-redis");
    if (dir_->path().empty()) {
        if (err) *err = "cannot create a temp dir";
        return false;
    }
    port_ = free_port();
    do {
        bus_port_ = free_port();
    } while (bus_port_ == port_);
    if (port_ == 0 || bus_port_ == 0) {
        if (err) *err = "no free port";
        return false;
    }
    return launch(err, false);
}

bool RedisServer::launch(std::string* err, bool keep_config) {
    if (!keep_config) {
        std::error_code ec;
        std::filesystem::remove(dir_->file("nodes.conf"), ec);
    }
    std::vector<std::string> argv = {find_redis_server(),
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--protected-mode",
                                     "no",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--dir",
                                     dir_->path(),
                                     "--logfile",
                                     ""};
    if (!options_.password.empty()) {
        argv.insert(argv.end(),
                    {"--requirepass", options_.password, "--masterauth", options_.password});
    }
    if (options_.cluster_enabled) {
        argv.insert(argv.end(),
                    {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-port", std::to_string(bus_port_), "--cluster-node-timeout",
                     std::to_string(options_.cluster_node_timeout_ms),
                     "--cluster-require-full-coverage", "no"});
    }
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    paused_ = false;
    if (!child_.start(argv, dir_->file("redis.log"))) {
        if (err) *err = "cannot start " + argv[0];
        return false;
    }
    return wait_ready(err);
}

bool RedisServer::wait_ready(std::string* err) {
    const auto deadline = Clock::now() + seconds(10);
    std::string last;
    while (Clock::now() < deadline) {
        if (!child_.running()) {
            if (err)
                *err = "redis-server exited (" + std::to_string(child_.exit_code()) + "): " + log();
            return false;
        }
        last = cli({"PING"});
        if (last == "PONG") return true;
        std::this_thread::sleep_for(milliseconds(10));
    }
    if (err) *err = "redis-server did not answer PING within 10 s (last: " + last + "): " + log();
    return false;
}

bool RedisServer::wait_cluster_ok(std::string* err) {
    const auto deadline = Clock::now() + seconds(20);
    std::string info;
    while (Clock::now() < deadline) {
        info = cli({"CLUSTER", "INFO"});
        if (contains(info, "cluster_state:ok")) return true;
        std::this_thread::sleep_for(milliseconds(20));
    }
    if (err) *err = "node on port " + std::to_string(port_) + " not cluster_state:ok: " + info;
    return false;
}

void RedisServer::stop() {
    if (paused_) resume();
    child_.stop();
}

void RedisServer::kill_hard() {
    child_.kill_hard();
    paused_ = false;
}

bool RedisServer::restart(std::string* err) {
    if (!dir_) {
        if (err) *err = "never started";
        return false;
    }
    stop();
    return launch(err, false);
}

bool RedisServer::restart_keep_config(std::string* err) {
    if (!dir_) {
        if (err) *err = "never started";
        return false;
    }
    stop();
    if (!launch(err, true)) return false;
    return !options_.cluster_enabled || wait_cluster_ok(err);
}

void RedisServer::pause() {
    if (!running()) return;
    ::kill(child_.pid(), SIGSTOP);
    paused_ = true;
}

void RedisServer::resume() {
    if (!running()) return;
    ::kill(child_.pid(), SIGCONT);
    paused_ = false;
}

bool RedisServer::running() const {
    return child_.running();
}

const std::string& RedisServer::dir() const {
    static const std::string none;
    return dir_ ? dir_->path() : none;
}

std::string RedisServer::log() const {
    if (!dir_) return {};
    std::string text = read_file(dir_->file("redis.log"));
    if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
    return text;
}

std::string RedisServer::url() const {
    std::string auth =
        options_.password.empty() ? "" : ":" + percent_encode(options_.password) + "@";
    return "redis://" + auth + "127.0.0.1:" + std::to_string(port_);
}

std::string RedisServer::cli(const std::vector<std::string>& argv) const {
    TcpSocket sock;
    if (!sock.connect("127.0.0.1", port_, milliseconds(2000))) return "IOERR " + sock.error();
    std::string request;
    int expected = 1;
    if (!options_.password.empty()) {
        request += resp_command({"AUTH", options_.password});
        ++expected;
    }
    request += resp_command(argv);
    if (!sock.write_all(request, milliseconds(5000))) return "IOERR " + sock.error();
    std::string buf;
    std::size_t pos = 0;
    std::string first_error;
    const auto deadline = Clock::now() + seconds(10);
    char chunk[16384];
    while (expected > 0) {
        std::string text;
        const int r = parse_reply(buf, pos, text);
        if (r < 0) return "IOERR not a RESP reply: " + buf.substr(0, 80);
        if (r == 1) {
            // AUTH failing makes the command fail too (NOAUTH): report why.
            if (--expected == 0) return first_error.empty() ? text : first_error;
            if (!text.empty() && text != "OK") first_error = text;
            continue;
        }
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left <= milliseconds(0)) return "IOERR timeout";
        const long n = sock.read_some(chunk, sizeof chunk, left);
        if (n == 0) return "IOERR connection closed";
        if (n < 0) return n == -1 ? "IOERR timeout" : "IOERR " + sock.error();
        buf.append(chunk, static_cast<std::size_t>(n));
    }
    return "IOERR";
}

// ---------------------------------------------------------------------------------------------
// RedisCluster

bool RedisCluster::start(std::string* err, int masters, Options o) {
    options_ = std::move(o);
    nodes_.clear();
    migrations_.clear();
    for (int i = 0; i < masters; ++i) {
        auto server = std::make_unique<RedisServer>();
        RedisServer::Options so;
        so.password = options_.password;
        so.cluster_enabled = true;
        so.cluster_node_timeout_ms = options_.node_timeout_ms;
        if (!server->start(err, so)) return false;
        nodes_.push_back(std::move(server));
    }
    // Slots split evenly, distinct config epochs (set before the nodes meet), then every node
    // meets the first one and gossip does the rest.
    for (int i = 0; i < masters; ++i) {
        const int first = i * kSlots / masters;
        const int last = (i + 1) * kSlots / masters - 1;
        std::string r =
            node(i).cli({"CLUSTER", "ADDSLOTSRANGE", std::to_string(first), std::to_string(last)});
        if (r != "OK") {
            if (err) *err = "CLUSTER ADDSLOTSRANGE: " + r;
            return false;
        }
        r = node(i).cli({"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)});
        if (r != "OK") {
            if (err) *err = "CLUSTER SET-CONFIG-EPOCH: " + r;
            return false;
        }
    }
    for (int i = 1; i < masters; ++i) {
        const std::string r =
            node(0).cli({"CLUSTER", "MEET", "127.0.0.1", std::to_string(node(i).port()),
                         std::to_string(node(i).bus_port())});
        if (r != "OK") {
            if (err) *err = "CLUSTER MEET: " + r;
            return false;
        }
    }
    const auto deadline = Clock::now() + seconds(30);
    const std::string known = "cluster_known_nodes:" + std::to_string(masters) + "\r";
    for (;;) {
        int ready = 0;
        std::string info;
        for (int i = 0; i < masters; ++i) {
            info = node(i).cli({"CLUSTER", "INFO"});
            if (contains(info, "cluster_state:ok") && contains(info, known) &&
                contains(info, "cluster_slots_ok:16384")) {
                ++ready;
            }
        }
        if (ready == masters) return true;
        if (Clock::now() >= deadline) {
            if (err) *err = "cluster not ready within 30 s: " + info;
            return false;
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
}

std::string RedisCluster::url() const {
    std::string out = "redis+cluster://";
    if (!options_.password.empty()) out += ":" + percent_encode(options_.password) + "@";
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (i > 0) out += ",";
        out += "127.0.0.1:" + std::to_string(nodes_[i]->port());
    }
    return out;
}

std::string RedisCluster::node_id(int i) const {
    return node(i).cli({"CLUSTER", "MYID"});
}

int RedisCluster::index_of_port(int port) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i]->port() == port) return static_cast<int>(i);
    }
    return -1;
}

int RedisCluster::owner_of_slot(int slot) const {
    for (const auto& server : nodes_) {
        if (!server->running() || server->paused()) continue;
        const std::string nodes = server->cli({"CLUSTER", "NODES"});
        if (nodes.rfind("IOERR", 0) == 0) continue;
        // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>
        for (const std::string& line : split(nodes, '\n')) {
            const std::vector<std::string> f = split(line, ' ');
            if (f.size() < 9 || !contains(f[2], "master")) continue;
            const auto colon = f[1].find(':');
            const int port = std::atoi(f[1].c_str() + colon + 1);
            for (std::size_t k = 8; k < f.size(); ++k) {
                if (f[k].empty() || f[k][0] == '[') continue;  // [slot->-id]: migration state
                const auto dash = f[k].find('-');
                const int first = std::atoi(f[k].c_str());
                const int last =
                    dash == std::string::npos ? first : std::atoi(f[k].c_str() + dash + 1);
                if (slot >= first && slot <= last) return index_of_port(port);
            }
        }
        return -1;
    }
    return -1;
}

int RedisCluster::key_slot(const std::string& key) const {
    for (const auto& server : nodes_) {
        if (!server->running() || server->paused()) continue;
        const std::string r = server->cli({"CLUSTER", "KEYSLOT", key});
        if (r.rfind("IOERR", 0) == 0) continue;
        return std::atoi(r.c_str());
    }
    return -1;
}

std::string RedisCluster::key_on_node(int i, const std::string& prefix) const {
    std::map<int, int> owner_cache;  // slot -> owner: few lookups, each a CLUSTER NODES
    for (int n = 0; n < 100000; ++n) {
        const std::string key = prefix + std::to_string(n);
        const int slot = key_slot(key);
        if (slot < 0) return {};
        auto it = owner_cache.find(slot);
        if (it == owner_cache.end()) it = owner_cache.emplace(slot, owner_of_slot(slot)).first;
        if (it->second == i) return key;
    }
    return {};
}

bool RedisCluster::begin_migration(int slot, int to, std::string* err) {
    const int from = owner_of_slot(slot);
    if (from < 0 || from == to) {
        if (err)
            *err = "slot " + std::to_string(slot) + " is owned by node " + std::to_string(from) +
                   ", cannot move it to node " + std::to_string(to);
        return false;
    }
    const std::string s = std::to_string(slot);
    std::string r = node(to).cli({"CLUSTER", "SETSLOT", s, "IMPORTING", node_id(from)});
    if (r != "OK") {
        if (err) *err = "SETSLOT IMPORTING: " + r;
        return false;
    }
    r = node(from).cli({"CLUSTER", "SETSLOT", s, "MIGRATING", node_id(to)});
    if (r != "OK") {
        if (err) *err = "SETSLOT MIGRATING: " + r;
        return false;
    }
    migrations_[slot] = {from, to};
    return true;
}

bool RedisCluster::move_keys(int slot, std::string* err) {
    const auto it = migrations_.find(slot);
    if (it == migrations_.end()) {
        if (err) *err = "no migration of slot " + std::to_string(slot) + " in progress";
        return false;
    }
    const auto [from, to] = it->second;
    for (;;) {
        const std::string keys =
            node(from).cli({"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "100"});
        if (keys.rfind("IOERR", 0) == 0 || keys.rfind("ERR", 0) == 0) {
            if (err) *err = "GETKEYSINSLOT: " + keys;
            return false;
        }
        if (keys.empty()) return true;
        std::vector<std::string> argv = {"MIGRATE", "127.0.0.1", std::to_string(node(to).port()),
                                         "",        "0",         "5000"};
        if (!options_.password.empty()) argv.insert(argv.end(), {"AUTH", options_.password});
        argv.push_back("KEYS");
        for (const auto& k : split(keys, '\n')) argv.push_back(k);
        const std::string r = node(from).cli(argv);
        if (r != "OK" && r != "NOKEY") {
            if (err) *err = "MIGRATE: " + r;
            return false;
        }
    }
}

bool RedisCluster::finish_migration(int slot, std::string* err) {
    const auto it = migrations_.find(slot);
    if (it == migrations_.end()) {
        if (err) *err = "no migration of slot " + std::to_string(slot) + " in progress";
        return false;
    }
    const auto [from, to] = it->second;
    const std::string target = node_id(to);
    const std::string s = std::to_string(slot);
    // The target first (it bumps its config epoch), then the old owner, then everyone else.
    std::vector<int> order = {to, from};
    for (int i = 0; i < size(); ++i) {
        if (i != to && i != from) order.push_back(i);
    }
    for (int i : order) {
        if (!node(i).running()) continue;
        const std::string r = node(i).cli({"CLUSTER", "SETSLOT", s, "NODE", target});
        if (r != "OK") {
            if (err) *err = "SETSLOT NODE on node " + std::to_string(i) + ": " + r;
            return false;
        }
    }
    migrations_.erase(it);
    return true;
}

bool RedisCluster::migrate_slot(int slot, int to, std::string* err) {
    return begin_migration(slot, to, err) && move_keys(slot, err) && finish_migration(slot, err);
}

}  // namespace presence::test
