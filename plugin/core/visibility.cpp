// Visibility list: the friends who see an invisible user online (SPEC 4.2, 4.4).
#include <algorithm>

#include "core/core_impl.hpp"

namespace presence::core {

void PresenceCore::Impl::replace_visibility(UserIdx idx, std::vector<UserIdx>&& list, Millis now) {
    begin_change(idx);  // matters to viewers only while present and invisible; end_change knows
    const bool changed = users[idx].visibility != list;
    assign_visibility(idx, std::move(list));
    if (changed) {
        mark_dirty(idx);
        mark_shared(idx, true);
    }
    end_change(idx, now);
    // The same list again changed nothing: no presence_self (SPEC 5: "when the user's own
    // state changes"), as adding a listed friend or removing an absent one already did.
    if (changed) send_self_to_devices(idx);
}

CoreError PresenceCore::set_visibility(std::string_view user, std::span<const std::string> ids,
                                       std::vector<std::string>* offenders, Millis now) {
    Impl& m = *impl_;
    if (offenders) offenders->clear();
    if (!m.loaded_user(user)) return CoreError::UnknownUser;
    const UserIdx idx = *m.find(user);
    std::vector<UserIdx> list;
    std::vector<std::string> bad;
    list.reserve(ids.size());
    for (const auto& id : ids) {
        auto f = m.find(id);
        if (!f || *f == idx || !m.is_friend(idx, *f)) {
            bad.push_back(id);
            continue;
        }
        list.push_back(*f);
    }
    if (!bad.empty()) {
        std::sort(bad.begin(), bad.end());
        bad.erase(std::unique(bad.begin(), bad.end()), bad.end());
        if (offenders) *offenders = std::move(bad);
        return CoreError::NotFriend;
    }
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    if (list.size() > m.config.max_visibility) return CoreError::TooMany;
    m.replace_visibility(idx, std::move(list), now);
    return CoreError::None;
}

CoreError PresenceCore::add_visibility(std::string_view user, std::string_view friend_id,
                                       Millis now) {
    Impl& m = *impl_;
    if (!m.loaded_user(user)) return CoreError::UnknownUser;
    const UserIdx idx = *m.find(user);
    auto f = m.find(friend_id);
    if (!f || *f == idx || !m.is_friend(idx, *f)) return CoreError::NotFriend;
    const auto& cur = m.users[idx].visibility;
    if (std::binary_search(cur.begin(), cur.end(), *f)) return CoreError::None;  // already there
    if (cur.size() >= m.config.max_visibility) return CoreError::TooMany;
    std::vector<UserIdx> list = cur;
    list.insert(std::lower_bound(list.begin(), list.end(), *f), *f);
    m.replace_visibility(idx, std::move(list), now);
    return CoreError::None;
}

CoreError PresenceCore::remove_visibility(std::string_view user, std::string_view friend_id,
                                          Millis now) {
    Impl& m = *impl_;
    if (!m.loaded_user(user)) return CoreError::UnknownUser;
    const UserIdx idx = *m.find(user);
    auto f = m.find(friend_id);
    const auto& cur = m.users[idx].visibility;
    if (!f || !std::binary_search(cur.begin(), cur.end(), *f)) return CoreError::None;
    std::vector<UserIdx> list = cur;
    list.erase(std::lower_bound(list.begin(), list.end(), *f));
    m.replace_visibility(idx, std::move(list), now);
    return CoreError::None;
}

}  // namespace presence::core
