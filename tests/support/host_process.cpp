#include "host_process.hpp"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

#include "tcp_socket.hpp"

#ifndef PRESENCE_TEST_HOST_EXE
#define PRESENCE_TEST_HOST_EXE ""
#endif
#ifndef PRESENCE_TEST_PLUGIN_SO
#define PRESENCE_TEST_PLUGIN_SO ""
#endif

namespace presence::test {

namespace {

using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : std::string(fallback);
}

std::string trim(std::string s) {
    const char* ws = " \t\r\n";
    s.erase(0, s.find_first_not_of(ws));
    auto last = s.find_last_not_of(ws);
    s.erase(last == std::string::npos ? 0 : last + 1);
    return s;
}

std::string config_text(const std::vector<std::pair<std::string, std::string>>& settings) {
    std::string text = "# written by presence_test_support\n";
    for (const auto& [k, v] : settings) text += k + " = " + v + "\n";
    return text;
}

}  // namespace

std::string default_host_executable() {
    return env_or("PRESENCE_HOST_EXE", PRESENCE_TEST_HOST_EXE);
}
std::string default_plugin_path() {
    return env_or("PRESENCE_PLUGIN_SO", PRESENCE_TEST_PLUGIN_SO);
}

HostOptions& HostOptions::set(std::string key, std::string value) {
    for (auto& kv : settings) {
        if (kv.first == key) {
            kv.second = std::move(value);
            return *this;
        }
    }
    settings.emplace_back(std::move(key), std::move(value));
    return *this;
}

HostOptions& HostOptions::friends(std::vector<std::pair<std::string, std::string>> pairs) {
    friendships = std::move(pairs);
    return *this;
}

HostOptions& HostOptions::config_text(std::string_view text) {
    while (!text.empty()) {
        const auto eol = text.find('\n');
        const std::string line(text.substr(0, eol));
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        const std::string t = trim(line);
        const auto eq = t.find('=');
        if (t.empty() || t[0] == '#' || eq == std::string::npos) continue;
        set(trim(t.substr(0, eq)), trim(t.substr(eq + 1)));
    }
    return *this;
}

std::optional<std::string> HostOptions::get(const std::string& key) const {
    for (const auto& kv : settings)
        if (kv.first == key) return kv.second;
    return std::nullopt;
}

HostProcess::HostProcess(HostOptions options) : options_(std::move(options)) {
    if (options_.dir.empty()) {
        temp_dir_ = std::make_unique<TempDir>("presence-host");
        dir_path_ = temp_dir_->path();
    } else {
        dir_path_ = options_.dir;
    }
    config_path_ = dir_path_ + "/presence.conf";
    log_path_ = dir_path_ + "/host.log";
}

bool HostProcess::write_file(const std::string& name, std::string_view text, std::string* path) {
    *path = dir_path_ + "/" + name;
    std::ofstream out(*path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    return static_cast<bool>(out);
}

HostProcess::~HostProcess() {
    stop();
}

std::string HostProcess::output() const {
    return read_file(log_path_);
}

std::string HostProcess::admin_token() const {
    return options_.get("host.admin_token").value_or(kDefaultAdminToken);
}

std::string HostProcess::http_prefix() const {
    return options_.get("presence.http_prefix").value_or("/api/presence");
}

bool HostProcess::write_config() {
    if (dir_path_.empty()) {
        error_ = "could not make a temp dir";
        return false;
    }
    HostOptions& o = options_;
    if (!o.get("host.plugin") && !o.plugin.empty()) o.set("host.plugin", o.plugin);
    if (!o.get("host.auth_secret")) o.set("host.auth_secret", kDefaultSecret);
    if (!o.get("host.admin_token")) o.set("host.admin_token", kDefaultAdminToken);
    if (!o.friendships.empty() && !o.get("presence.friends_file")) {
        std::string text;
        for (const auto& [a, b] : o.friendships) text += a + " " + b + "\n";
        std::string path;
        if (!write_file("friends.txt", text, &path)) {
            error_ = "could not write " + path;
            return false;
        }
        o.set("presence.friends_file", path);
    }
    if (!o.get("host.listen")) {
        port_ = free_port();
        o.set("host.listen", "127.0.0.1:" + std::to_string(port_));
    }
    if (!write_file("presence.conf", config_text(o.settings), &config_path_)) {
        error_ = "could not write " + config_path_;
        return false;
    }
    return true;
}

bool HostProcess::start_once() {
    if (options_.executable.empty()) {
        error_ = "presence-host path unknown (set PRESENCE_HOST_EXE)";
        return false;
    }
    std::vector<std::string> argv{options_.executable, "--config", config_path_};
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    // Where the previous run's output ends, so only this run's listening line counts.
    const std::size_t offset = output().size();
    SpawnOptions spawn;
    spawn.cpu = options_.cpu;
    spawn.max_open_files = options_.max_open_files;
    if (!child_.start(argv, log_path_, spawn)) {
        error_ = "could not start " + options_.executable;
        return false;
    }
    // Not static: a function-local static would count as a leak in the first CppUTest test.
    const std::regex listening(R"(listening on http://([^\s:/]+|\[[^\]]*\]):(\d+))");
    const auto deadline = Clock::now() + options_.start_timeout;
    while (Clock::now() < deadline) {
        std::string out = output();
        std::smatch m;
        std::string fresh = out.size() > offset ? out.substr(offset) : std::string();
        if (std::regex_search(fresh, m, listening)) {
            port_ = static_cast<std::uint16_t>(std::stoi(m[2].str()));
            return true;
        }
        if (!child_.running()) {
            error_ = "presence-host exited with " + std::to_string(child_.exit_code()) +
                     " before listening:\n" + fresh;
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    error_ = "presence-host did not print its listening line in time:\n" + output();
    child_.stop();
    return false;
}

bool HostProcess::start() {
    if (!write_config()) return false;
    const bool port_chosen_by_us =
        port_ != 0 && options_.get("host.listen") == "127.0.0.1:" + std::to_string(port_);
    // A port that was free a moment ago can be taken by someone else in between: retry then.
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (start_once()) return true;
        if (!port_chosen_by_us || error_.find("listening") == std::string::npos) break;
        port_ = free_port();
        options_.set("host.listen", "127.0.0.1:" + std::to_string(port_));
        if (!write_file("presence.conf", config_text(options_.settings), &config_path_)) break;
    }
    return false;
}

int HostProcess::stop(std::chrono::milliseconds grace) {
    return child_.stop(grace);
}

bool HostProcess::restart() {
    stop();
    // Same config and port: clients reconnect where they were.
    for (int attempt = 0; attempt < 20; ++attempt) {
        if (start_once()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds{100});  // port still lingering
    }
    return false;
}

std::string HostProcess::mint_token(const std::string& user, std::optional<int> ttl_s) {
    // Tokens can be minted before (or without) start(), e.g. with a different secret.
    if (read_file(config_path_).empty() && !write_config()) return {};
    std::vector<std::string> argv{options_.executable, "token", "--config", config_path_, user};
    if (ttl_s) {
        argv.push_back("--ttl");
        argv.push_back(std::to_string(*ttl_s));
    }
    RunResult r = run_program(argv, std::chrono::milliseconds{10000});
    if (r.exit_code != 0) {
        error_ = "token command failed (" + std::to_string(r.exit_code) + "): " + r.output;
        return {};
    }
    return trim(r.output);
}

std::string HostProcess::ws_path(const std::string& user) {
    return "/ws?token=" + mint_token(user);
}

RunResult HostProcess::run_with_config(
    const std::vector<std::pair<std::string, std::string>>& settings,
    const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    TempDir dir("presence-conf");
    std::vector<std::pair<std::string, std::string>> all = settings;
    auto has = [&](const char* key) {
        for (const auto& kv : all)
            if (kv.first == key) return true;
        return false;
    };
    if (!has("host.plugin")) all.emplace_back("host.plugin", default_plugin_path());
    if (!has("host.auth_secret")) all.emplace_back("host.auth_secret", kDefaultSecret);
    if (!has("host.listen"))
        all.emplace_back("host.listen", "127.0.0.1:" + std::to_string(free_port()));
    const std::string path = dir.write("presence.conf", config_text(all));
    std::vector<std::string> argv{default_host_executable(), "--config", path};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, timeout);
}

RunResult HostProcess::run_with_config_text(std::string_view text,
                                            const std::vector<std::string>& args,
                                            std::chrono::milliseconds timeout) {
    TempDir dir("presence-conf");
    const std::string path = dir.write("presence.conf", text);
    std::vector<std::string> argv{default_host_executable(), "--config", path, "--plugin",
                                  default_plugin_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, timeout);
}

}  // namespace presence::test
