#include "fake_host.hpp"

#include <cjson/cJSON.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "protocol/utf8.hpp"

namespace presence_fuzz {

namespace {

using Json = std::unique_ptr<cJSON, decltype(&cJSON_Delete)>;

Json parse(std::string_view text) {
    return Json(cJSON_ParseWithLength(text.data(), text.size()), cJSON_Delete);
}

std::string string_field(const cJSON* object, const char* name) {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, name);
    return cJSON_IsString(item) ? std::string(item->valuestring) : std::string();
}

bool is_null_field(const cJSON* object, const char* name) {
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(object, name));
}

bool known_status(int status) {
    for (int s : {200, 304, 400, 401, 404, 405, 413, 422, 429, 503}) {
        if (status == s) return true;
    }
    return false;
}

}  // namespace

void require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
        std::abort();
    }
}

bool is_valid_json(std::string_view text) {
    return presence::protocol::is_valid_utf8(text) && parse(text) != nullptr;
}

FakeHost::FakeHost(const Settings& settings, bool with_headers) {
    char why[256] = "";
    const presence_plugin_api* api = presence_plugin_entry(PRESENCE_ABI_VERSION, why, sizeof why);
    require(api != nullptr, "entry refused ABI version 1");
    std::string reason;
    if (!create(api, settings, with_headers, &reason))
        std::fprintf(stderr, "create: %s\n", reason.c_str());
    require(plugin() != nullptr, "create failed with the fuzz host's settings");
}

FakeHost::~FakeHost() {
    destroy();
    for (const auto& [id, answer] : answers_) {
        require(answer.count == 1, "a request the plugin took was never answered");
    }
}

// ---- hooks ----

int FakeHost::connect(std::uint64_t conn, std::string_view user) {
    const bool reused = open_.count(conn) != 0;
    if (!reused) open_[conn] = std::string(user);  // the snapshot is sent from inside on_connect
    const int refusal = api()->on_connect(plugin(), conn, user.data(), user.size());
    require(refusal == 0 || (refusal >= 1000 && refusal <= 4999), "on_connect: not a close code");
    require(!reused || refusal != 0, "accepted a connection id already in use");
    require(refusal != PRESENCE_CLOSE_INTERNAL, "on_connect refused with 1011 (internal error)");
    if (refusal != 0 && !reused) {
        open_.erase(conn);
        closing_.erase(conn);
    }
    settle();
    return refusal;
}

void FakeHost::disconnect(std::uint64_t conn) {
    if (!open_.count(conn)) return;  // a host calls it once per accepted connection
    api()->on_disconnect(plugin(), conn);
    open_.erase(conn);
    closing_.erase(conn);
    settle();
}

void FakeHost::message(std::uint64_t conn, std::string_view data) {
    if (!open_.count(conn) || closing_.count(conn)) return;
    if (data.size() > api()->max_message_bytes(plugin())) {
        api()->on_message_too_large(plugin(), conn, data.size());
    } else {
        api()->on_message(plugin(), conn, data.data(), data.size());
    }
    settle();
}

void FakeHost::too_large(std::uint64_t conn, std::size_t len) {
    if (!open_.count(conn) || closing_.count(conn)) return;
    api()->on_message_too_large(plugin(), conn, len);
    settle();
}

std::optional<Answer> FakeHost::http(const std::string& method, const std::string& path,
                                     const std::optional<std::string>& query,
                                     const std::string& user, std::string_view body,
                                     const std::string& if_none_match) {
    const std::uint64_t id = next_request_++;
    presence_http_header header{"If-None-Match", 13, if_none_match.data(), if_none_match.size()};
    const presence_http_request request = http_request(
        id, method.c_str(), path.c_str(), query ? query->c_str() : nullptr,
        user.empty() ? nullptr : user.c_str(), body.empty() ? std::string_view() : body,
        if_none_match.empty() ? nullptr : &header, if_none_match.empty() ? 0 : 1);
    answers_[id].viewer = user.substr(0, user.find('\0'));  // what the plugin reads of it
    const int handled = api()->on_http(plugin(), &request);
    require(handled == PRESENCE_HTTP_HANDLED || handled == PRESENCE_HTTP_NOT_MINE,
            "on_http returned neither HANDLED nor NOT_MINE");
    if (handled == PRESENCE_HTTP_NOT_MINE) {
        require(answers_[id].count == 0, "answered a request it said was not its own");
        answers_.erase(id);
        settle();
        return std::nullopt;
    }
    settle();
    return answers_[id];
}

void FakeHost::advance(std::int64_t ms) {
    now_ += ms;
    api()->tick(plugin());
    settle();
}

int FakeHost::friendship(int op, std::string_view a, std::string_view b) {
    const std::string sa(a), sb(b);
    // Frames about a new friend may come from inside the call, about an ended one too
    // (the last `offline`): the edge counts as present for the whole call.
    const bool had = friends(sa, sb);
    friends_.insert({sa, sb});
    friends_.insert({sb, sa});
    char why[256] = "";
    const int rc =
        api()->friendship(plugin(), op, a.data(), a.size(), b.data(), b.size(), why, sizeof why);
    require(rc == 0 || rc == -1, "friendship returned neither 0 nor -1");
    const bool now_friends = rc == 0 ? op == PRESENCE_FRIENDSHIP_ADD : had;
    if (!now_friends) {
        friends_.erase({sa, sb});
        friends_.erase({sb, sa});
    }
    settle();
    return rc;
}

int FakeHost::friendships(const std::vector<presence_friendship>& ops) {
    // During the call, every edge named (added or removed) counts as present.
    std::set<std::pair<std::string, std::string>> before = friends_;
    for (const auto& op : ops) {
        const std::string a(op.a, op.a_len), b(op.b, op.b_len);
        friends_.insert({a, b});
        friends_.insert({b, a});
    }
    char why[256] = "";
    const int rc = api()->friendships(plugin(), ops.data(), ops.size(), why, sizeof why);
    require(rc == 0 || rc == -1, "friendships returned neither 0 nor -1");
    friends_ = std::move(before);
    if (rc == 0) {
        for (const auto& op : ops) {
            const std::string a(op.a, op.a_len), b(op.b, op.b_len);
            if (op.op == PRESENCE_FRIENDSHIP_ADD) {
                friends_.insert({a, b});
                friends_.insert({b, a});
            } else {
                friends_.erase({a, b});
                friends_.erase({b, a});
            }
        }
    }
    settle();
    return rc;
}

void FakeHost::wake_now() {
    api()->on_wake(plugin());
    settle();
}

// What a host does after a hook: on_wake when woken, on_disconnect for what the plugin closed.
void FakeHost::settle() {
    for (int round = 0; round < 100; ++round) {
        const bool woke = serve_wake();
        if (!woke && closing_.empty()) return;
        while (!closing_.empty()) {
            const std::uint64_t conn = *closing_.begin();
            closing_.erase(closing_.begin());
            if (open_.count(conn)) {
                api()->on_disconnect(plugin(), conn);
                open_.erase(conn);
            }
        }
    }
}

// ---- checks ----

bool FakeHost::friends(const std::string& a, const std::string& b) const {
    return friends_.count({a, b}) != 0;
}

// A <presence> view of someone who is neither the viewer nor a friend says nothing.
void FakeHost::check_view(const std::string& viewer, const cJSON* view) const {
    if (!cJSON_IsObject(view)) return;
    const cJSON* id = cJSON_GetObjectItemCaseSensitive(view, "user_id");
    if (!cJSON_IsString(id)) return;
    const std::string subject = id->valuestring;
    if (subject == viewer || friends(viewer, subject)) return;
    require(string_field(view, "status") == "offline", "a non-friend is shown not offline");
    require(is_null_field(view, "last_seen"), "a non-friend's last_seen is shown");
    require(is_null_field(view, "message"), "a non-friend's message is shown");
}

void FakeHost::check_frame(const std::string& viewer, std::string_view frame) const {
    require(presence::protocol::is_valid_utf8(frame), "frame is not valid UTF-8");
    const Json json = parse(frame);
    require(json != nullptr, "frame is not valid JSON");
    require(cJSON_IsObject(json.get()), "frame is not a JSON object");
    const std::string type = string_field(json.get(), "type");
    require(!type.empty(), "frame without a type");
    if (type == "presence") {
        const std::string subject = string_field(json.get(), "user_id");
        require(friends(viewer, subject), "presence frame about a user to a non-friend");
    }
    check_view(viewer, json.get());
    for (const char* list : {"friends", "users"}) {
        const cJSON* items = cJSON_GetObjectItemCaseSensitive(json.get(), list);
        const cJSON* item = nullptr;
        cJSON_ArrayForEach(item, items) {
            if (std::strcmp(list, "friends") == 0) {
                require(friends(viewer, string_field(item, "user_id")),
                        "snapshot lists a non-friend");
            }
            check_view(viewer, item);
        }
    }
}

int FakeHost::on_send(std::uint64_t conn, std::string_view frame) {
    require(!destroying(), "send during destroy");
    const auto it = open_.find(conn);
    require(it != open_.end(), "send to a connection that is not open");
    check_frame(it->second, frame);
    return closing_.count(conn) ? -1 : 0;
}

void FakeHost::answer(std::uint64_t id, int status, const char* type, std::string_view body,
                      std::string etag) {
    const auto it = answers_.find(id);
    require(it != answers_.end(), "respond to an unknown request");
    Answer& a = it->second;
    require(++a.count == 1, "a request answered twice");
    require(known_status(status), "an HTTP status the SPEC does not list");
    require(type != nullptr, "respond without a content type");
    a.status = status;
    a.content_type = type;
    a.body.assign(body);
    a.etag = std::move(etag);
    if (!a.etag.empty()) last_etag_ = a.etag;
    if (a.content_type.rfind("application/json", 0) == 0 && status != 304) {
        require(presence::protocol::is_valid_utf8(body), "JSON answer is not valid UTF-8");
        const Json json = parse(body);
        require(json != nullptr, "JSON answer is not valid JSON");
        check_view(a.viewer, json.get());
        const cJSON* item = nullptr;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(json.get(), "users")) {
            check_view(a.viewer, item);
        }
    }
}

// ---- callbacks ----

void FakeHost::on_close(std::uint64_t conn, std::uint16_t code, const char* reason) {
    require(!destroying(), "close during destroy");
    require(open_.count(conn) != 0, "close of a connection that is not open");
    require(code != PRESENCE_CLOSE_INTERNAL, "closed with 1011 (internal error)");
    require(code >= 1000 && code <= 4999, "close code out of range");
    if (reason) {
        require(std::strlen(reason) <= 123, "close reason over 123 bytes");
        require(presence::protocol::is_valid_utf8(reason), "close reason is not UTF-8");
    }
    closing_.insert(conn);
}

void FakeHost::on_respond(std::uint64_t id, int status, const char* type,
                          const presence_http_header* headers, std::size_t n,
                          std::string_view body) {
    std::string etag;
    for (std::size_t i = 0; i < n; ++i) {
        const std::string_view name(headers[i].name, headers[i].name_len);
        const std::string_view value(headers[i].value, headers[i].value_len);
        require(!name.empty(), "empty header name");
        for (const std::string_view part : {name, value}) {
            require(part.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos,
                    "CR, LF or NUL in a response header");
        }
        if (name == "ETag") etag.assign(value);
    }
    answer(id, status, type, body, std::move(etag));
}

void FakeHost::on_log(int level, const char* message) {
    if (level == PRESENCE_LOG_ERROR) std::fprintf(stderr, "plugin error: %s\n", message);
    require(level != PRESENCE_LOG_ERROR, "the plugin logged an error (a caught exception?)");
}

void FakeHost::on_change(const presence_change& change) {
    require(!destroying(), "on_presence_change during destroy");
    require(change.user_id != nullptr && std::strlen(change.user_id) == change.user_id_len,
            "presence_change: user_id and user_id_len disagree");
    require(change.status >= PRESENCE_STATUS_OFFLINE && change.status <= PRESENCE_STATUS_DND,
            "presence_change: effective status out of range");
    require(!change.message || presence::protocol::is_valid_utf8(change.message),
            "presence_change: message is not UTF-8");
}

}  // namespace presence_fuzz
