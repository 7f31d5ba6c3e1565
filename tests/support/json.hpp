// JSON helpers for tests: a read-only view over a parsed cJSON tree that never crashes on a
// missing key (it just becomes an invalid view), so assertions stay one-liners.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct cJSON;

namespace presence::test {

class Json {
  public:
    Json() = default;

    // Parses `text`; on bad JSON the result is invalid (valid() == false).
    static Json parse(std::string_view text);

    bool valid() const { return node_ != nullptr; }
    bool is_null() const;
    bool is_string() const;
    bool is_number() const;
    bool is_bool() const;
    bool is_array() const;
    bool is_object() const;

    // Member / element access; missing ones give an invalid view.
    Json operator[](const char* key) const;
    Json operator[](std::size_t index) const;
    // Without it, j[0] would be ambiguous (0 is also a null const char*).
    Json operator[](int index) const {
        return index < 0 ? Json{} : (*this)[static_cast<std::size_t>(index)];
    }
    bool has(const char* key) const;

    std::string str() const;   // "" unless a string
    double num() const;        // 0 unless a number
    std::int64_t i64() const;  // num() rounded
    bool boolean() const;      // false unless true
    std::size_t size() const;  // element count of an array/object, else 0
    std::string dump() const;  // compact text, "<invalid>" when invalid

    // For an array of objects: the `key` string of each element (e.g. every "user_id").
    std::vector<std::string> strings_of(const char* key) const;
    // For an array of strings: its elements.
    std::vector<std::string> strings() const;
    // For an array of objects: the first element whose `key` equals `value`, else invalid.
    Json find_by(const char* key, std::string_view value) const;

  private:
    Json(std::shared_ptr<cJSON> root, const cJSON* node) : root_(std::move(root)), node_(node) {}
    std::shared_ptr<cJSON> root_;  // keeps the whole tree alive for every view into it
    const cJSON* node_ = nullptr;
};

// `s` as a JSON string literal, quotes included (escapes ", \ and control bytes only, so
// invalid UTF-8 passes through untouched: tests need to send it on purpose).
std::string json_quote(std::string_view s);

}  // namespace presence::test
