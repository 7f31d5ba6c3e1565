// presence-host: a libwebsockets server that loads libpresence.so and drives it as a real
// host would (SPEC section 10).
//
//   presence-host [--config FILE] [--listen HOST:PORT] [--plugin PATH] [--demo]
//                 [--set key=value]...
//   presence-host token --config FILE USER_ID [--ttl S]     prints a bearer token alone
//
// Flags override the file. Exit status: 0 after a clean stop (SIGINT/SIGTERM), 2 for usage
// or settings errors, 1 when the plugin or the listening socket cannot start.
#include <openssl/rand.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "config_file.hpp"
#include "demo_page.hpp"
#include "host_server.hpp"
#include "listen_address.hpp"
#include "plugin_loader.hpp"
#include "token.hpp"

namespace {

using namespace presence_host;

// The server the stop signal stops: a sigaction handler gets no user pointer (lws' callbacks
// do, through the context; see lws_bridge.cpp), so this one is process-wide.
HostServer* g_running = nullptr;

void on_stop_signal(int) {
    if (g_running) g_running->stop();
}

int usage(const char* why) {
    if (why) std::fprintf(stderr, "presence-host: %s\n", why);
    std::fprintf(stderr,
                 "usage: presence-host [--config FILE] [--listen HOST:PORT] [--plugin PATH]\n"
                 "                     [--demo] [--set key=value]...\n"
                 "       presence-host token --config FILE USER_ID [--ttl SECONDS]\n");
    return 2;
}

bool parse_size(const std::string& text, size_t& out) {
    size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return false;
    out = value;
    return true;
}

// Which plugin to load without host.plugin: the installed one beside an installed host
// (<prefix>/bin/../lib/libpresence.so.1), else the one of this build, else beside the
// executable or in ../plugin (build trees), else the soname through the library path.
std::string default_plugin_path() {
    std::string dir;
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        dir.assign(exe, static_cast<size_t>(n));
        dir = dir.substr(0, dir.rfind('/'));
    }
#ifdef PRESENCE_INSTALLED_PLUGIN
    const std::string installed = dir + "/" PRESENCE_INSTALLED_PLUGIN;
    if (!dir.empty() && access(installed.c_str(), R_OK) == 0) return installed;
#endif
#ifdef PRESENCE_DEFAULT_PLUGIN
    if (access(PRESENCE_DEFAULT_PLUGIN, R_OK) == 0) return PRESENCE_DEFAULT_PLUGIN;
#endif
    for (const char* candidate : {"/libpresence.so", "/../plugin/libpresence.so"}) {
        if (!dir.empty() && access((dir + candidate).c_str(), R_OK) == 0) return dir + candidate;
    }
    return "libpresence.so.1";  // let dlopen search the library path
}

struct Arguments {
    std::string config_path;
    std::vector<std::string> sets;  // key=value, applied in order after the file
    bool demo = false;
    std::vector<std::string> positional;
    std::optional<std::string> ttl;
};

bool parse_arguments(int argc, char** argv, int first, Arguments& args, std::string& error) {
    for (int i = first; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](const char* flag) -> const char* {
            if (i + 1 >= argc) {
                error = std::string(flag) + " needs a value";
                return nullptr;
            }
            return argv[++i];
        };
        if (arg == "--config") {
            const char* v = value("--config");
            if (!v) return false;
            args.config_path = v;
        } else if (arg == "--listen") {
            const char* v = value("--listen");
            if (!v) return false;
            args.sets.push_back(std::string("host.listen=") + v);
        } else if (arg == "--plugin") {
            const char* v = value("--plugin");
            if (!v) return false;
            args.sets.push_back(std::string("host.plugin=") + v);
        } else if (arg == "--set") {
            const char* v = value("--set");
            if (!v) return false;
            args.sets.push_back(v);
        } else if (arg == "--ttl") {
            const char* v = value("--ttl");
            if (!v) return false;
            args.ttl = v;
        } else if (arg == "--demo") {
            args.demo = true;
        } else if (arg.starts_with("--")) {
            error = "unknown option " + arg;
            return false;
        } else {
            args.positional.push_back(arg);
        }
    }
    return true;
}

std::optional<ConfigFile> load_config(const Arguments& args, std::string& error) {
    std::optional<ConfigFile> config = ConfigFile();
    if (!args.config_path.empty()) config = ConfigFile::load(args.config_path, error);
    if (!config) return std::nullopt;
    for (const auto& assignment : args.sets) {
        if (!config->set_from_argument(assignment, error)) return std::nullopt;
    }
    return config;
}

int run_token_command(int argc, char** argv) {
    Arguments args;
    std::string error;
    if (!parse_arguments(argc, argv, 2, args, error)) return usage(error.c_str());
    if (args.positional.size() != 1) return usage("token needs exactly one USER_ID");
    auto config = load_config(args, error);
    if (!config) return usage(error.c_str());
    const std::string secret = config->get_or("host.auth_secret", "");
    if (secret.empty()) return usage("host.auth_secret is not set");
    const std::string& user = args.positional[0];
    if (!is_valid_user_id(user)) return usage("USER_ID must be 1-64 bytes of [A-Za-z0-9_.:@-]");
    size_t ttl = 0;
    if (!parse_size(args.ttl.value_or(config->get_or("host.token_ttl_s", "86400")), ttl) ||
        ttl == 0) {
        return usage("--ttl must be a positive number of seconds");
    }
    const int64_t expiry = static_cast<int64_t>(time(nullptr)) + static_cast<int64_t>(ttl);
    std::printf("%s\n", mint_token(secret, user, expiry).c_str());
    return 0;
}

std::string random_secret() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return "demo-secret";
    return base64url_encode(std::string(reinterpret_cast<char*>(bytes), sizeof bytes));
}

// host.* settings into options; false with a reason naming the key.
bool read_host_options(ConfigFile& config, bool demo_flag, HostOptions& options,
                       std::string& error) {
    ListenAddress listen;
    if (!parse_listen_address(config.get_or("host.listen", "127.0.0.1:8080"), listen, error)) {
        return false;
    }
    options.listen_host = listen.host;
    options.listen_port = listen.port;
    options.listen_ipv6 = listen.ipv6;
    bool demo = false;
    if (!config.get_bool("host.demo", false, demo, error)) return false;
    options.demo = demo_flag || demo;
    options.auth_secret = config.get_or("host.auth_secret", "");
    if (options.auth_secret.empty()) {
        if (!options.demo) {
            error = "host.auth_secret is required (or run with --demo)";
            return false;
        }
        options.auth_secret = random_secret();  // demo: tokens still work within this run
    }
    options.admin_token = config.get_or("host.admin_token", "");
    if (!parse_size(config.get_or("host.max_queue_bytes", "4194304"), options.bounds.max_bytes) ||
        options.bounds.max_bytes == 0) {
        error = "host.max_queue_bytes must be a positive number";
        return false;
    }
    if (!parse_size(config.get_or("host.max_queue_frames", "4096"), options.bounds.max_frames) ||
        options.bounds.max_frames == 0) {
        error = "host.max_queue_frames must be a positive number";
        return false;
    }
    // Not set: 64 MiB, or 4 connections' worth when max_queue_bytes is large. Below one
    // connection's bound it would cut connections the per-connection bound allows.
    const size_t four_queues = options.bounds.max_bytes > SIZE_MAX / 4
                                   ? SIZE_MAX
                                   : 4 * options.bounds.max_bytes;  // no wrap-around
    const size_t default_outbound = std::max<size_t>(size_t{64} * 1024 * 1024, four_queues);
    const std::string* outbound = config.find("host.max_outbound_bytes");
    options.max_outbound_bytes = default_outbound;
    if (outbound && (!parse_size(*outbound, options.max_outbound_bytes) ||
                     options.max_outbound_bytes < options.bounds.max_bytes)) {
        error =
            "host.max_outbound_bytes must be a number of bytes of at least host.max_queue_bytes (" +
            std::to_string(options.bounds.max_bytes) + ")";
        return false;
    }
    // The plugin validates presence.max_message_bytes itself (a bad value stops create()) and
    // reports it through max_message_bytes(); this is the fallback for an older plugin.
    size_t max_message = 65536;
    if (parse_size(config.get_or("presence.max_message_bytes", "65536"), max_message)) {
        options.max_message_bytes = max_message;
    }
    if (!parse_size(config.get_or("host.header_tables", "8192"), options.header_tables) ||
        options.header_tables == 0 || options.header_tables > 65535) {
        error = "host.header_tables must be 1..65535";
        return false;
    }
    // Sockets held until their request arrives (libev; pending_sockets.hpp).
    size_t pending_total = 0;
    size_t pending_per_address = 0;
    size_t pending_timeout_ms = 0;
    if (!parse_size(config.get_or("host.max_pending_sockets", "4096"), pending_total) ||
        pending_total == 0 || pending_total > 65536) {
        error = "host.max_pending_sockets must be 1..65536";
        return false;
    }
    if (!parse_size(config.get_or("host.max_pending_per_address", "1024"), pending_per_address) ||
        pending_per_address == 0 || pending_per_address > pending_total) {
        error = "host.max_pending_per_address must be 1..host.max_pending_sockets (" +
                std::to_string(pending_total) + ")";
        return false;
    }
    if (!parse_size(config.get_or("host.pending_timeout_ms", "5000"), pending_timeout_ms) ||
        pending_timeout_ms < 100 || pending_timeout_ms > 60000) {
        error = "host.pending_timeout_ms must be 100..60000";
        return false;
    }
    options.pending = {pending_total, pending_per_address,
                       static_cast<int64_t>(pending_timeout_ms) * 1000};
    size_t write_interval_ms = 0;
    if (!parse_size(config.get_or("host.write_interval_ms", "10"), write_interval_ms) ||
        write_interval_ms > 1000) {
        error = "host.write_interval_ms must be 0..1000";
        return false;
    }
    options.write_interval_us = static_cast<int64_t>(write_interval_ms) * 1000;
    const std::string ring = config.get_or("host.io_uring", "on");
    if (ring != "on" && ring != "off") {
        error = "host.io_uring must be on or off";
        return false;
    }
    options.io_uring = ring == "on";
    // Not set: libev (the fast path), falling back to poll (the plain path) when the evlib
    // plugin is not installed. libuv was a third write path nobody needed: it is refused.
    options.event_lib_fallback = config.find("host.event_lib") == nullptr;
    options.event_lib = config.get_or("host.event_lib", "libev");
    if (options.event_lib != "poll" && options.event_lib != "libev") {
        error = "host.event_lib must be libev or poll";
        if (options.event_lib == "libuv") error += " (libuv is no longer supported)";
        return false;
    }
    if (!config.get_bool("host.reuse_port", false, options.reuse_port, error)) return false;
    options.friendships_table = config.get_or("host.friendships_table", "friendships");
    if (!FriendshipTable::valid_table_name(options.friendships_table)) {
        error = "host.friendships_table must be 1-64 characters of [A-Za-z0-9_]";
        return false;
    }
    if (options.reuse_port && options.event_lib != "libev") {
        // lws 4.1 sets SO_REUSEPORT on its own listener only with several service threads
        // (LWS_SERVER_OPTION_ALLOW_LISTEN_SHARE is ignored with one), and Debian's lws has
        // LWS_MAX_SMP 1: a second host would fail to bind. Only libev has the host's listener.
        error = "host.reuse_port = true needs host.event_lib = libev (with " + options.event_lib +
                ", lws' own listener cannot share its port)";
        return false;
    }
    const std::string level = config.get_or("host.log_level", "info");
    const char* levels[] = {"error", "warn", "info", "debug"};
    options.log_level = -1;
    for (int i = 0; i < 4; ++i) {
        if (level == levels[i]) options.log_level = i;
    }
    if (options.log_level < 0) {
        error = "host.log_level must be error, warn, info or debug";
        return false;
    }
    return true;
}

int run_server(int argc, char** argv) {
    Arguments args;
    std::string error;
    if (!parse_arguments(argc, argv, 1, args, error)) return usage(error.c_str());
    if (!args.positional.empty())
        return usage(("unexpected argument " + args.positional[0]).c_str());
    auto config = load_config(args, error);
    if (!config) return usage(error.c_str());
    HostOptions options;
    if (!read_host_options(*config, args.demo, options, error)) return usage(error.c_str());

    // Static so that it is removed also when a libev host ends through std::exit.
    static DemoFriendsFile demo_friends;
    if (options.demo) {
        // The demo is the in-memory store, whatever the file said, with the configured
        // presence.friends_file when there is one, else the demo users' graph.
        config->set("presence.db_url", "", error);
        const std::string* friends_file = config->find("presence.friends_file");
        if (!friends_file || friends_file->empty()) {
            if (!demo_friends.write(error)) return usage(error.c_str());
            config->set("presence.friends_file", demo_friends.path(), error);
        }
    }

    PluginLibrary library;
    const std::string plugin_path = config->get_or("host.plugin", default_plugin_path());
    if (!library.open(plugin_path, error)) {
        std::fprintf(stderr, "presence-host: %s\n", error.c_str());
        return 1;
    }

    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    signal(SIGPIPE, SIG_IGN);

    HostServer server(std::move(*config), options, library.api());
    g_running = &server;
    if (!server.start(error)) {
        g_running = nullptr;
        std::fprintf(stderr, "presence-host: %s\n", error.c_str());
        return 1;
    }
    const int status = server.run();
    g_running = nullptr;
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "token") == 0) return run_token_command(argc, argv);
    return run_server(argc, argv);
}
