// The in-memory store: records and a friend graph in process memory, for development, demos,
// tests and benchmarks. Answers loads from pump(), never from inside the asking call, so the
// service treats it exactly like the asynchronous MariaDB store.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/store.hpp"

namespace presence::store {

// Friend lists by user id, both directions, each list unique.
using FriendGraph = std::unordered_map<std::string, std::vector<std::string>>;

// Parses friends-file text: one friendship per line, two user ids separated by white space;
// blank lines and lines starting with '#' (after white space) are skipped. On a bad line
// returns false with `err` naming the line number.
bool parse_friends_text(std::string_view text, FriendGraph& graph, std::string& err);

// Adds/removes one friendship in both directions (no duplicates, no self-friendship).
void add_friend_edge(FriendGraph& graph, const std::string& a, const std::string& b);
void remove_friend_edge(FriendGraph& graph, const std::string& a, const std::string& b);

}  // namespace presence::store
