#include "json.hpp"

#include <cjson/cJSON.h>

#include <cmath>
#include <cstdio>

namespace presence::test {

Json Json::parse(std::string_view text) {
    cJSON* root = cJSON_ParseWithLength(text.data(), text.size());
    if (root == nullptr) return Json{};
    std::shared_ptr<cJSON> owner(root, cJSON_Delete);
    return Json(owner, root);
}

bool Json::is_null() const {
    return node_ && cJSON_IsNull(node_);
}
bool Json::is_string() const {
    return node_ && cJSON_IsString(node_);
}
bool Json::is_number() const {
    return node_ && cJSON_IsNumber(node_);
}
bool Json::is_bool() const {
    return node_ && cJSON_IsBool(node_);
}
bool Json::is_array() const {
    return node_ && cJSON_IsArray(node_);
}
bool Json::is_object() const {
    return node_ && cJSON_IsObject(node_);
}

Json Json::operator[](const char* key) const {
    if (!is_object()) return Json{};
    const cJSON* child = cJSON_GetObjectItemCaseSensitive(node_, key);
    return child ? Json(root_, child) : Json{};
}

Json Json::operator[](std::size_t index) const {
    if (!is_array() || index >= size()) return Json{};
    return Json(root_, cJSON_GetArrayItem(node_, static_cast<int>(index)));
}

bool Json::has(const char* key) const {
    return (*this)[key].valid();
}

std::string Json::str() const {
    return is_string() && node_->valuestring ? std::string(node_->valuestring) : std::string();
}

double Json::num() const {
    return is_number() ? node_->valuedouble : 0.0;
}
std::int64_t Json::i64() const {
    return static_cast<std::int64_t>(std::llround(num()));
}
bool Json::boolean() const {
    return node_ && cJSON_IsTrue(node_);
}

std::size_t Json::size() const {
    if (!is_array() && !is_object()) return 0;
    return static_cast<std::size_t>(cJSON_GetArraySize(node_));
}

std::string Json::dump() const {
    if (!node_) return "<invalid>";
    char* text = cJSON_PrintUnformatted(node_);
    if (!text) return "<unprintable>";
    std::string out(text);
    cJSON_free(text);
    return out;
}

std::vector<std::string> Json::strings_of(const char* key) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < size() && is_array(); ++i) out.push_back((*this)[i][key].str());
    return out;
}

std::vector<std::string> Json::strings() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < size() && is_array(); ++i) out.push_back((*this)[i].str());
    return out;
}

Json Json::find_by(const char* key, std::string_view value) const {
    for (std::size_t i = 0; i < size() && is_array(); ++i) {
        Json item = (*this)[i];
        if (item[key].is_string() && item[key].str() == value) return item;
    }
    return Json{};
}

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
    return out;
}

}  // namespace presence::test
