// A Redis reply as plain C++ values, so no hiredis type leaves plugin/redis/. Built by copying
// hiredis' reply tree once; callers never see a pointer that hiredis will free.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace presence::redis {

struct Reply {
    enum class Type { Nil, Status, Error, Integer, String, Array };
    Type type = Type::Nil;
    long long integer = 0;
    std::string str;              // Status, Error and String replies
    std::vector<Reply> elements;  // Array replies

    bool is_nil() const { return type == Type::Nil; }
    bool is_error() const { return type == Type::Error; }
    bool is_array() const { return type == Type::Array; }
    // An Error reply whose text starts with `prefix` ("MOVED", "ASK", "NOSCRIPT", ...).
    bool is_error_with(std::string_view prefix) const {
        return type == Type::Error && std::string_view(str).substr(0, prefix.size()) == prefix;
    }
    static Reply error(std::string text) {
        Reply r;
        r.type = Type::Error;
        r.str = std::move(text);
        return r;
    }
};

}  // namespace presence::redis
