#include "scaleout_env.hpp"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "http_client.hpp"
#include "proc_stats.hpp"
#include "token.hpp"

#ifndef PRESENCE_HOST_PATH
#define PRESENCE_HOST_PATH ""
#endif
#ifndef PRESENCE_PLUGIN_PATH
#define PRESENCE_PLUGIN_PATH ""
#endif

namespace presence::bench::scaleout {

namespace {

bool set_affinity(pid_t tid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(tid, sizeof set, &set) == 0;
}

std::string random_hex(int words) {
    std::random_device rd;
    std::string out;
    char buf[9];
    for (int i = 0; i < words; ++i) {
        std::snprintf(buf, sizeof buf, "%08x", rd());
        out += buf;
    }
    return out;
}

}  // namespace

bool redis_server_available() {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t pos = 0;
    while (pos <= dirs.size()) {
        std::size_t end = dirs.find(':', pos);
        if (end == std::string::npos) end = dirs.size();
        std::string dir = dirs.substr(pos, end - pos);
        if (access(((dir.empty() ? "." : dir) + "/redis-server").c_str(), X_OK) == 0) return true;
        pos = end + 1;
    }
    return false;
}

void pin_process(pid_t pid, int cpu) {
    if (cpu < 0 || pid <= 0) return;
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        const pid_t tid = std::atoi(e->d_name);
        if (tid > 0) set_affinity(tid, cpu);
    }
    closedir(d);
}

void pin_self(int cpu) {
    if (cpu >= 0) set_affinity(0, cpu);
}

void raise_nofile() {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

void set_default(std::vector<std::string>& settings, const std::string& key,
                 const std::string& value) {
    for (const auto& line : settings) {
        const auto eq = line.find('=');
        std::string k = line.substr(0, eq);
        while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
        while (!k.empty() && (k.front() == ' ' || k.front() == '\t')) k.erase(0, 1);
        if (k == key) return;
    }
    settings.push_back(key + " = " + value);
}

double ms_since(std::uint64_t start_ns) {
    return static_cast<double>(monotonic_ns() - start_ns) / 1e6;
}

Env::~Env() {
    stop_all();
    redis_.reset();
    if (!dir_.empty() && !options_.keep_dir) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    } else if (!dir_.empty()) {
        std::fprintf(stderr, "kept %s\n", dir_.c_str());
    }
}

bool Env::prepare(const EnvOptions& options, const std::string& friends, std::string* err) {
    options_ = options;
    if (options_.host_bin.empty() || options_.plugin.empty()) {
        *err = "no presence-host/libpresence.so path: pass --host-bin/--plugin";
        return false;
    }
    char tmpl[] = "/tmp/presence-scaleout-XXXXXX";
    if (!mkdtemp(tmpl)) {
        *err = "mkdtemp failed";
        return false;
    }
    dir_ = tmpl;
    secret_ = random_hex(4);
    friends_path_ = dir_ + "/friends.txt";
    {
        std::ofstream f(friends_path_);
        f << friends;
        if (!f) {
            *err = "cannot write " + friends_path_;
            return false;
        }
    }
    metrics_token_ = "admin-" + random_hex(8);  // GET /metrics needs host.admin_token (SPEC 6)
    if (!options_.redis) return true;
    redis_ = std::make_unique<presence::test::RedisServer>();
    if (!redis_->start(err)) return false;
    // INFO server names the pid: pin every thread of redis-server with the hosts.
    const std::string info = redis_->cli({"INFO", "server"});
    const auto at = info.find("process_id:");
    if (at != std::string::npos) redis_pid_ = std::atoi(info.c_str() + at + 11);
    pin_process(redis_pid_, options_.server_cpu);
    return true;
}

bool Env::start_host(std::size_t slot, const std::string& instance_id, std::string* err) {
    if (hosts_.size() <= slot) hosts_.resize(slot + 1);
    Host& h = hosts_[slot];
    if (h.process) h.process->stop();
    // Each host has its own directory (presence.conf, host.log), kept with the Env's.
    const std::string base = dir_ + "/host" + std::to_string(slot);
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    presence::test::HostOptions ho;
    ho.executable = options_.host_bin;
    ho.plugin = options_.plugin;
    ho.dir = base;
    ho.cpu = options_.server_cpu;
    ho.set("host.auth_secret", secret_);
    ho.set("host.admin_token", metrics_token_);
    ho.set("presence.friends_file", friends_path_);
    if (redis_) {
        ho.set("presence.redis_url", redis_->url());
        ho.set("presence.instance_id", instance_id);
    }
    std::string extra;
    for (const auto& line : options_.settings) extra += line + "\n";
    ho.config_text(extra);
    h.process = std::make_unique<HostProcess>(std::move(ho));
    h.instance_id = instance_id;
    if (h.process->start()) return true;
    *err = h.process->error();
    return false;
}

void Env::kill_host(std::size_t slot) {
    if (slot >= hosts_.size() || !hosts_[slot].process) return;
    hosts_[slot].process->kill_hard();  // and reaps it
}

void Env::stop_host(std::size_t slot) {
    if (slot < hosts_.size() && hosts_[slot].process) hosts_[slot].process->stop();
}

void Env::stop_all() {
    for (std::size_t i = 0; i < hosts_.size(); ++i) stop_host(i);
}

bool Env::running(std::size_t slot) const {
    return slot < hosts_.size() && hosts_[slot].process && hosts_[slot].process->pid() > 0;
}

pid_t Env::host_pid(std::size_t slot) const {
    return running(slot) ? hosts_[slot].process->pid() : -1;
}

std::uint16_t Env::host_port(std::size_t slot) const {
    return running(slot) ? hosts_[slot].process->port() : 0;
}

std::string Env::host_log(std::size_t slot) const {
    return slot < hosts_.size() && hosts_[slot].process ? hosts_[slot].process->output() : "";
}

const std::string& Env::instance_id(std::size_t slot) const {
    return hosts_.at(slot).instance_id;
}

std::string Env::token(const std::string& user) const {
    return presence_host::mint_token(secret_, user,
                                     static_cast<std::int64_t>(time(nullptr)) + 86400);
}

std::map<std::string, double> Env::metrics(std::size_t slot) const {
    std::map<std::string, double> out;
    const std::uint16_t port = host_port(slot);
    if (port == 0) return out;
    const auto reply = presence::test::http_get(port, "/api/presence/metrics", metrics_token_);
    if (reply.status != 200) return out;
    const std::string& body = reply.body;
    std::size_t pos = 0;
    while (pos < body.size()) {
        std::size_t eol = body.find('\n', pos);
        if (eol == std::string::npos) eol = body.size();
        const std::string line = body.substr(pos, eol - pos);
        pos = eol + 1;
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        if (space == std::string::npos) continue;
        out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
    }
    return out;
}

std::string default_host_bin() {
    return PRESENCE_HOST_PATH;
}

std::string default_plugin() {
    return PRESENCE_PLUGIN_PATH;
}

std::string option_value(int argc, char** argv, int& i) {
    if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", argv[i]);
        std::exit(2);
    }
    return argv[++i];
}

}  // namespace presence::bench::scaleout
