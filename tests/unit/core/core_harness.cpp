#include "core_harness.hpp"

#include <algorithm>

namespace presence::core::test {

void CoreHarness::load(const std::string& id, Status chosen, std::optional<std::string> message,
                       std::vector<std::string> visibility) {
    UserRecord r;
    r.user_id = id;
    r.chosen = chosen;
    r.message = std::move(message);
    r.visibility = std::move(visibility);
    core->load_user(r, now);
}

void CoreHarness::friends(const std::string& user, const std::vector<std::string>& list) {
    core->load_friends(user, list);
}

void CoreHarness::befriend(const std::string& a, const std::string& b) {
    auto fa = core->friends_of(a);
    auto fb = core->friends_of(b);
    fa.push_back(b);
    fb.push_back(a);
    core->load_friends(a, fa);
    core->load_friends(b, fb);
}

ConnId CoreHarness::connect(const std::string& user) {
    const ConnId c = next_conn++;
    CHECK_ERROR(CoreError::None, core->connect(c, user, now));
    return c;
}

CoreError CoreHarness::update(const std::string& user, Status s, ConnId via) {
    StatusUpdate u;
    u.status = s;
    return core->update_status(user, u, via, now);
}

CoreError CoreHarness::update_msg(const std::string& user, Status s, std::optional<std::string> msg,
                                  ConnId via) {
    StatusUpdate u;
    u.status = s;
    u.has_message = true;
    u.message = std::move(msg);
    return core->update_status(user, u, via, now);
}

CoreError CoreHarness::update_until(const std::string& user, Status s, Millis until, ConnId via) {
    StatusUpdate u;
    u.status = s;
    u.until = until;
    return core->update_status(user, u, via, now);
}

std::vector<UserRecord> CoreHarness::drain() {
    std::vector<UserRecord> out;
    core->drain_dirty([&](const UserRecord& r) { out.push_back(r); });
    return out;
}

}  // namespace presence::core::test
