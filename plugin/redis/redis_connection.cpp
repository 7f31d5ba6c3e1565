#include "redis/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "redis/hiredis_glue.hpp"

namespace presence::redis {
namespace {

struct ContextFree {
    void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;

// "<kind><n>\r\n": a RESP array or bulk string header.
void append_count(std::string& out, char kind, std::size_t n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.push_back(kind);
    out.append(digits, end);
    out.append("\r\n");
}

timeval to_timeval(int ms) {
    ms = std::max(ms, 1);  // 0 would mean "no timeout" to the kernel
    timeval tv{};
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

// Printable rendering of what a peer sent, for error messages (at most 80 bytes).
std::string printable(std::string_view bytes) {
    std::string out;
    for (unsigned char c : bytes.substr(0, 80)) {
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (bytes.size() > 80) out += "...";
    return out;
}

// Errors that say "not now" rather than "never": connecting again later may work.
bool transient_error(const Reply& r) {
    return r.is_error_with("LOADING") || r.is_error_with("BUSY") || r.is_error_with("MASTERDOWN") ||
           r.is_error_with("TRYAGAIN") || r.is_error_with("ERR max number of clients");
}

// hiredis writes with write(): to a peer that has gone that raises SIGPIPE, which kills a host
// that does not ignore it. SIGPIPE is blocked in this thread around writes, and one raised
// meanwhile is consumed, so the write just fails with EPIPE.
class SigpipeBlock {
  public:
    SigpipeBlock() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    }
    ~SigpipeBlock() {
        sigset_t pending;
        sigpending(&pending);
        if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
            const timespec now{};
            sigtimedwait(&pipe_, nullptr, &now);
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;

  private:
    sigset_t pipe_{};
    sigset_t old_{};
    bool was_pending_ = false;
};

std::string quote(const Reply& r) {
    return "\"" + printable(r.str) + "\"";
}

}  // namespace

struct RedisConnection::Impl {
    ContextPtr context;
    std::string command;  // append()'s RESP text, reused
};

RedisConnection::RedisConnection() : impl_(std::make_unique<Impl>()) {}

RedisConnection::~RedisConnection() = default;

bool RedisConnection::connected() const {
    return impl_->context != nullptr;
}

void RedisConnection::close() {
    impl_->context.reset();
}

bool RedisConnection::fail(std::string what) {
    last_error_ = options_.host + ":" + std::to_string(options_.port) + ": " + std::move(what);
    close();
    return false;
}

ConnectResult RedisConnection::connect(const ConnectOptions& options, std::string& why) {
    close();
    options_ = options;
    last_error_.clear();
    const std::string where = options.host + ":" + std::to_string(options.port);
    ContextPtr c(redisConnectWithTimeout(options.host.c_str(), options.port,
                                         to_timeval(options.connect_timeout_ms)));
    if (!c) {
        why = last_error_ = "cannot connect to " + where + ": out of memory";
        return ConnectResult::Unreachable;
    }
    if (c->err != 0) {
        why = last_error_ = "cannot connect to " + where + ": " + c->errstr;
        return ConnectResult::Unreachable;
    }
    // The handshake answers within the connect timeout; commands get theirs afterwards.
    if (redisSetTimeout(c.get(), to_timeval(options.connect_timeout_ms)) != REDIS_OK) {
        why = last_error_ = "cannot set timeouts on " + where + ": " + c->errstr;
        return ConnectResult::Unreachable;
    }
    redisEnableKeepAlive(c.get());  // a silently dead peer is noticed even on idle connections
    use_reply_builder(c.get());
    impl_->context = std::move(c);

    const ConnectResult result = handshake(why);
    if (result != ConnectResult::Ok) {
        close();
        last_error_ = why;
        return result;
    }
    if (redisSetTimeout(impl_->context.get(), to_timeval(options.command_timeout_ms)) != REDIS_OK) {
        why = last_error_ = "cannot set timeouts on " + where + ": " + impl_->context->errstr;
        close();
        return ConnectResult::Unreachable;
    }
    return ConnectResult::Ok;
}

// AUTH, SELECT and PING in one write, then their answers, keeping what was read so that a peer
// that is not a Redis can be quoted.
ConnectResult RedisConnection::handshake(std::string& why) {
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    std::vector<Argv> steps;
    if (!options_.password.empty()) steps.push_back({"AUTH", options_.password});
    if (options_.db != 0) steps.push_back({"SELECT", std::to_string(options_.db)});
    steps.push_back({"PING"});
    for (const auto& s : steps) {
        if (!append(s)) {
            why = last_error_;
            return ConnectResult::Unreachable;
        }
    }
    if (!flush()) {
        why = "cannot talk to " + last_error_;
        return ConnectResult::Unreachable;
    }
    std::vector<Reply> replies;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        Reply r;
        std::string seen;
        if (!read_reply(r, &seen)) {
            if (!seen.empty() || last_error_.find("Protocol error") != std::string::npos) {
                why = "not a Redis server at " + where + " (" +
                      last_error_.substr(where.size() + 2) +
                      (seen.empty() ? ")" : "), it sent \"" + printable(seen) + "\"");
                return ConnectResult::Refused;
            }
            why = "no answer from " + last_error_;
            return ConnectResult::Unreachable;
        }
        replies.push_back(std::move(r));
    }
    std::size_t i = 0;
    if (!options_.password.empty()) {
        const Reply& auth = replies[i++];
        if (auth.is_error()) {
            why = "AUTH refused by " + where + ": " + quote(auth);
            return transient_error(auth) ? ConnectResult::Unreachable : ConnectResult::Refused;
        }
    }
    if (options_.db != 0) {
        const Reply& select = replies[i++];
        if (select.is_error()) {
            why = "SELECT " + std::to_string(options_.db) + " refused by " + where + ": " +
                  quote(select);
            return transient_error(select) ? ConnectResult::Unreachable : ConnectResult::Refused;
        }
    }
    const Reply& ping = replies[i];
    if (ping.is_error()) {
        why = "PING refused by " + where + ": " + quote(ping);
        if (ping.is_error_with("NOAUTH")) why += " (a password is needed)";
        return transient_error(ping) ? ConnectResult::Unreachable : ConnectResult::Refused;
    }
    if (ping.type != Reply::Type::Status || ping.str != "PONG") {
        why = "not a Redis server at " + where + ": PING answered " +
              (ping.type == Reply::Type::Array ? std::string("an array") : quote(ping));
        return ConnectResult::Refused;
    }
    return ConnectResult::Ok;
}

bool RedisConnection::append(std::span<const std::string_view> argv) {
    if (!connected()) {
        last_error_ = "not connected";
        return false;
    }
    if (argv.empty()) {
        last_error_ = "empty command";
        return false;
    }
    // The RESP text is written here, into a reused buffer: hiredis' own formatter runs
    // sdscatfmt for every argument, which was the writer thread's largest cost per change.
    std::string& out = impl_->command;
    out.clear();
    append_count(out, '*', argv.size());
    for (std::string_view a : argv) {
        append_count(out, '$', a.size());
        out.append(a);
        out.append("\r\n");
    }
    if (redisAppendFormattedCommand(impl_->context.get(), out.data(), out.size()) != REDIS_OK) {
        return fail("cannot queue a command: out of memory");
    }
    return true;
}

bool RedisConnection::append(const Argv& argv) {
    std::vector<std::string_view> views(argv.begin(), argv.end());
    return append(std::span<const std::string_view>(views));
}

bool RedisConnection::flush() {
    if (!connected()) {
        last_error_ = "not connected";
        return false;
    }
    redisContext* c = impl_->context.get();
    const SigpipeBlock no_sigpipe;
    int done = 0;
    do {
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            const bool timeout = c->err == REDIS_ERR_IO && errno == EAGAIN;
            return fail(timeout ? "write timed out after " +
                                      std::to_string(options_.command_timeout_ms) + " ms"
                                : std::string(c->errstr));
        }
    } while (done == 0);
    return true;
}

bool RedisConnection::read_reply(Reply& out, std::string* seen) {
    redisContext* c = impl_->context.get();
    void* raw = nullptr;
    for (;;) {
        if (redisGetReplyFromReader(c, &raw) != REDIS_OK) return fail(c->errstr);
        if (raw != nullptr) break;
        if (redisBufferRead(c) != REDIS_OK) {
            const bool timeout =
                c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
            return fail(timeout ? "no answer within " +
                                      std::to_string(options_.command_timeout_ms) + " ms"
                                : std::string(c->errstr));
        }
        if (seen != nullptr && c->reader != nullptr && c->reader->buf != nullptr) {
            const std::size_t n = std::min<std::size_t>(c->reader->len - c->reader->pos, 100);
            seen->assign(c->reader->buf + c->reader->pos, n);
        }
    }
    out = std::move(*take_reply(raw));
    return true;
}

bool RedisConnection::receive(std::size_t count, std::vector<Reply>& out) {
    if (!flush()) return false;
    out.reserve(out.size() + count);
    for (std::size_t i = 0; i < count; ++i) {
        Reply r;
        if (!read_reply(r, nullptr)) return false;
        out.push_back(std::move(r));
    }
    return true;
}

bool RedisConnection::pipeline(std::span<const Argv> commands, std::vector<Reply>& out) {
    out.clear();
    if (!connected()) {
        last_error_ = "not connected";
        return false;
    }
    // An empty command gets a local error reply and is not sent (Redis would not answer it).
    std::size_t sent = 0;
    for (const auto& argv : commands) {
        if (argv.empty()) continue;
        if (!append(argv)) return false;
        ++sent;
    }
    std::vector<Reply> replies;
    const bool ok = receive(sent, replies);
    std::size_t next = 0;
    for (const auto& argv : commands) {
        if (argv.empty()) {
            out.push_back(Reply::error("ERR empty command"));
        } else if (next < replies.size()) {
            out.push_back(std::move(replies[next++]));
        } else {
            break;
        }
    }
    return ok;
}

bool RedisConnection::command(const Argv& argv, Reply& out) {
    std::vector<Reply> replies;
    const bool ok = pipeline(std::span<const Argv>(&argv, 1), replies);
    out = replies.empty() ? Reply::error("IOERR " + last_error_) : std::move(replies.front());
    return ok;
}

void RedisConnection::set_command_timeout(int ms) {
    options_.command_timeout_ms = ms;
    if (connected() && redisSetTimeout(impl_->context.get(), to_timeval(ms)) != REDIS_OK) {
        fail("cannot set the command timeout");
    }
}

bool RedisConnection::alive() {
    if (!connected()) return false;
    pollfd p{};
    p.fd = impl_->context->fd;
    p.events = POLLIN;
    const int n = ::poll(&p, 1, 0);
    if (n == 0) return true;
    if (n < 0 && errno == EINTR) return true;
    // Readable with nothing asked: the server closed (EOF), reset, or spoke out of turn.
    return fail("the server closed the connection");
}

}  // namespace presence::redis
