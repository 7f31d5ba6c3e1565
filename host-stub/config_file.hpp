// Host settings file: `key = value` lines read by presence-host.
//
// Syntax
//   - One `key = value` per line; blanks around key and value are trimmed; the value may be
//     empty (e.g. `presence.db_url =` selects the in-memory store).
//   - A line whose first non-blank character is `#` is a comment, and so is everything after
//     a ` #` (blank then hash) on a value line. A `#` inside a value without a blank before it
//     is kept, so URLs like `mariadb://u:p#w@h/db` survive.
//   - Keys start with `host.` (read by the host) or `presence.` (handed to the plugin exactly
//     as written). Anything else, a line without `=`, an empty key, a key with blanks, an
//     unknown `host.` key or a key given twice is an error naming the line number.
//
// Host keys
//   host.listen          HOST:PORT or [IPv6]:PORT to listen on (default 127.0.0.1:8080);
//                        port 0 picks a free port (the real one is printed).
//   host.plugin          path of libpresence.so (default: the one built next to this host).
//   host.auth_secret     HMAC-SHA256 secret that signs bearer tokens (required unless --demo).
//   host.admin_token     bearer token for POST /admin/friendships (unset: the route is 404)
//                        and for GET <presence.http_prefix>/metrics (unset: 401 to everyone).
//   host.max_queue_bytes bound of one connection's outgoing queue in bytes (default 4194304);
//                        a reader past it is closed with 1008. It counts the frames queued
//                        behind the oldest one (the frame being sent): a single frame larger
//                        than the bound (the snapshot of a user with 100,000 friends, ~8 MB)
//                        is accepted into an empty queue and sent in 64 KiB pieces.
//   host.max_outbound_bytes what the outgoing queues of ALL connections may hold together
//                        (default 67108864, 64 MiB, or 4 x host.max_queue_bytes when that is
//                        more). Past it the largest backlogs are closed with 1008 until the
//                        rest fits; connections that keep up hold a few frames and are not
//                        touched. A frame fanned out to N queues counts N times. Must be at
//                        least host.max_queue_bytes.
//   host.max_queue_frames bound of one connection's outgoing queue in frames (default 4096).
//   host.header_tables   how many requests may have their headers parsed at once (default
//                        8192); each table is ~5 KiB while in use, so this bounds handshake
//                        memory (~40 MiB at most, only during a burst). Others wait their
//                        turn (up to 60 s), but lws' waiting is O(waiters) per handshake: a
//                        19,500-socket reconnect storm stalled with 256 (96 % CPU in list
//                        walks) and again with 2048 once the host answered faster (the
//                        19,500 disconnects leave ~3,000 handshakes queued behind them);
//                        with 8192 it completes in 10 s, 0 failures, RSS per held
//                        connection unchanged.
//   host.max_pending_sockets (libev) how many accepted sockets the host holds while their
//                        request has not arrived (default 4096, 1..65536); past it the oldest
//                        is closed for the newest. Held by the host, not lws: an idle socket
//                        in lws waits for a header table in lists lws walks per handshake
//                        (~9,000 idle sockets held new connections back 6-9 s at 95-99 % CPU).
//   host.max_pending_per_address (libev) of those, at most this many from one source address
//                        (an IPv6 /64 counts as one; default 1024, 1..max_pending_sockets);
//                        past it a new socket from there is closed at once.
//   host.pending_timeout_ms (libev) a held socket whose request is not whole after this long
//                        is closed (default 5000, 100..60000).
//   host.token_ttl_s     default lifetime of tokens minted by `presence-host token` (86400).
//   host.write_interval_ms (libev) a connection written less than this long ago (default 10)
//                        waits until it has passed, its frames gathering into one write; 0
//                        writes every loop turn. A frame to an idle connection is not held.
//   host.io_uring        on (default) or off. On: at the end of each loop turn (libev)
//                        the writes of all connections go to the kernel in one io_uring
//                        submit, not one send() each (~35 % less CPU per write here). Where
//                        the kernel refuses io_uring the host logs why and uses send().
//   host.event_lib       libev (default) or poll. libev is the fast path (epoll, needs the
//                        libwebsockets-evlib-ev package; the host's own acceptor and
//                        end-of-turn writer); when the key is not set and libev cannot be
//                        loaded, the host logs it and uses poll. poll is the plain path: lws'
//                        own listener and loop, frames written from lws' writable callback.
//                        With ~20,000 sockets libev idles at a tenth of poll's CPU
//                        (tests/bench/RESULTS.md). libuv is refused (dropped).
//   host.log_level       error|warn|info|debug (default info): plugin log lines above it are
//                        dropped.
//   host.demo            true|false, same as --demo.
//   host.friendships_table  (with presence.db_url and host.admin_token) the host
//                        application's table that POST /admin/friendships writes before it
//                        tells the plugin: user_id, friend_id, one row per direction, created
//                        when missing (default friendships, what the plugin's default
//                        presence.friends_query reads). 1-64 of [A-Za-z0-9_].
//   host.reuse_port      true|false (default false). True: the listening socket is opened
//                        with SO_REUSEPORT, so several presence-host processes (each with it
//                        true, same user) can listen on one HOST:PORT and the kernel spreads
//                        new connections over them (instances linked through Redis). libev
//                        only: the host's own listener sets it; lws 4.1's listener (poll)
//                        sets SO_REUSEPORT only with several service threads, and
//                        Debian's build has one, so true with host.event_lib = poll
//                        is refused, and the host does not fall back to poll when libev
//                        cannot be loaded (it refuses to start). Connections still queued at an
//                        instance that stops are reset by the kernel (clients reconnect to the
//                        others).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presence_host {

// Parsed settings, ordered by key so the plugin gets them in a stable order.
class ConfigFile {
  public:
    // Parses the text of a settings file. On a malformed line returns nullopt and sets
    // `error` to "line N: what is wrong".
    static std::optional<ConfigFile> parse(std::string_view text, std::string& error);
    // Reads and parses a file; a read failure is an error naming the path.
    static std::optional<ConfigFile> load(const std::string& path, std::string& error);

    // Sets one `key=value` given on the command line (overrides the file). Same key rules.
    bool set_from_argument(std::string_view assignment, std::string& error);
    bool set(const std::string& key, const std::string& value, std::string& error);

    // Pointer stays valid until the key is set again.
    const std::string* find(const std::string& key) const;
    std::string get_or(const std::string& key, const std::string& fallback) const;
    // A true|false key: `fallback` when it is not set. Anything else is an error naming the
    // key and the value (false, `out` untouched).
    bool get_bool(const std::string& key, bool fallback, bool& out, std::string& error) const;

    const std::map<std::string, std::string>& all() const { return values_; }

  private:
    std::map<std::string, std::string> values_;
};

// True for the host.* keys presence-host knows (see the list above).
bool is_known_host_key(std::string_view key);

// Why a key is not acceptable, or empty when it is.
std::string key_problem(std::string_view key);

}  // namespace presence_host
