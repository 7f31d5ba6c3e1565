#include "store/memory_store.hpp"

#include <algorithm>
#include <deque>
#include <fstream>
#include <sstream>

namespace presence::store {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// Splits `line` into white-space separated words.
std::vector<std::string_view> words_of(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i])) ++i;
        const std::size_t start = i;
        while (i < line.size() && !is_space(line[i])) ++i;
        if (i > start) words.push_back(line.substr(start, i - start));
    }
    return words;
}

void add_one_way(FriendGraph& graph, const std::string& from, const std::string& to) {
    auto& list = graph[from];
    if (std::find(list.begin(), list.end(), to) == list.end()) list.push_back(to);
}

void remove_one_way(FriendGraph& graph, const std::string& from, const std::string& to) {
    const auto it = graph.find(from);
    if (it == graph.end()) return;
    auto& list = it->second;
    list.erase(std::remove(list.begin(), list.end(), to), list.end());
}

class MemoryStore final : public Store {
  public:
    explicit MemoryStore(FriendGraph graph) : graph_(std::move(graph)) {}

    void load_users(std::vector<std::string> ids, UsersDone done) override {
        tasks_.push_back([this, ids = std::move(ids), done = std::move(done)]() {
            std::vector<core::UserRecord> records;
            records.reserve(ids.size());
            for (const auto& id : ids) {
                const auto it = records_.find(id);
                if (it != records_.end()) {
                    records.push_back(it->second);
                } else {
                    core::UserRecord fresh;
                    fresh.user_id = id;
                    records.push_back(std::move(fresh));
                }
            }
            done(true, std::move(records));
        });
    }

    void load_friends(std::string id, FriendsDone done) override {
        tasks_.push_back([this, id = std::move(id), done = std::move(done)]() {
            const auto it = graph_.find(id);
            done(true, it == graph_.end() ? std::vector<std::string>{} : it->second);
        });
    }

    void save_user(const core::UserRecord& record) override { records_[record.user_id] = record; }

    void friendship_changed(bool added, const std::string& a, const std::string& b) override {
        if (added) {
            add_friend_edge(graph_, a, b);
        } else {
            remove_friend_edge(graph_, a, b);
        }
    }

    // Nothing outlives the process: acknowledged at the next pump, like a load.
    void when_durable(std::function<void()> done) override { tasks_.push_back(std::move(done)); }

    void pump() override {
        // Callbacks may ask for more loads (a connect loads the user, then the friends'
        // records); those run in the same pump so a connect completes in one loop turn.
        while (!tasks_.empty()) {
            auto task = std::move(tasks_.front());
            tasks_.pop_front();
            task();
        }
    }

    bool flush(long) override { return true; }  // nothing outlives the process anyway

    StoreHealth health() const override {
        StoreHealth h;
        h.ok = true;
        h.backend = "memory";
        h.detail = "in-memory";
        h.queue_depth = tasks_.size();
        return h;
    }

  private:
    std::unordered_map<std::string, core::UserRecord> records_;
    FriendGraph graph_;
    std::deque<std::function<void()>> tasks_;
};

}  // namespace

void add_friend_edge(FriendGraph& graph, const std::string& a, const std::string& b) {
    if (a == b) return;
    add_one_way(graph, a, b);
    add_one_way(graph, b, a);
}

void remove_friend_edge(FriendGraph& graph, const std::string& a, const std::string& b) {
    remove_one_way(graph, a, b);
    remove_one_way(graph, b, a);
}

bool parse_friends_text(std::string_view text, FriendGraph& graph, std::string& err) {
    std::size_t line_no = 0;
    std::size_t pos = 0;
    // Collected with duplicates first, then sorted and deduplicated once: a large file
    // would be quadratic with a duplicate check per edge.
    while (pos <= text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        const std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        const auto words = words_of(line);
        if (words.empty() || words.front().front() == '#') continue;
        if (words.size() != 2) {
            err = "line " + std::to_string(line_no) + ": expected two user ids";
            return false;
        }
        for (auto w : words) {
            if (!core::is_valid_user_id(w)) {
                err = "line " + std::to_string(line_no) + ": invalid user id \"" +
                      std::string(w.substr(0, 64)) + "\"";
                return false;
            }
        }
        if (words[0] == words[1]) {
            err = "line " + std::to_string(line_no) + ": a user cannot be their own friend";
            return false;
        }
        graph[std::string(words[0])].emplace_back(words[1]);
        graph[std::string(words[1])].emplace_back(words[0]);
    }
    for (auto& [id, list] : graph) {
        std::sort(list.begin(), list.end());
        list.erase(std::unique(list.begin(), list.end()), list.end());
    }
    return true;
}

std::unique_ptr<Store> make_memory_store(const MemoryStoreOptions& options, std::string* err) {
    FriendGraph graph;
    if (!options.friends_file.empty()) {
        std::ifstream in(options.friends_file, std::ios::binary);
        if (!in) {
            if (err) *err = "cannot read friends file " + options.friends_file;
            return nullptr;
        }
        std::ostringstream text;
        text << in.rdbuf();
        std::string why;
        if (!parse_friends_text(text.str(), graph, why)) {
            if (err) *err = options.friends_file + ": " + why;
            return nullptr;
        }
    }
    return std::make_unique<MemoryStore>(std::move(graph));
}

}  // namespace presence::store
