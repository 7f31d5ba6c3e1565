#include "request_fields.hpp"

#include <cctype>
#include <vector>

namespace presence_host {

std::string header_value(lws* wsi, lws_token_indexes token) {
    const int length = lws_hdr_total_length(wsi, token);
    if (length <= 0) return {};
    std::vector<char> buffer(static_cast<size_t>(length) + 1);
    if (lws_hdr_copy(wsi, buffer.data(), length + 1, token) < 0) return {};
    return std::string(buffer.data());
}

std::string query_string(lws* wsi) {
    std::string query;
    char fragment[1024];
    for (int index = 0;; ++index) {
        const int n =
            lws_hdr_copy_fragment(wsi, fragment, sizeof fragment, WSI_TOKEN_HTTP_URI_ARGS, index);
        if (n < 0) break;
        if (!query.empty()) query += '&';
        query.append(fragment, static_cast<size_t>(n));
    }
    return query;
}

std::string query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto equals = pair.find('=');
        if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
            return std::string(pair.substr(equals + 1));
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

bool has_bad_percent_escape(std::string_view request_line) {
    const size_t from = request_line.find(' ');
    if (from == std::string_view::npos) return false;
    std::string_view target = request_line.substr(from + 1);
    const size_t to = target.rfind(' ');
    if (to != std::string_view::npos) target = target.substr(0, to);
    for (size_t i = 0; i < target.size(); ++i) {
        if (target[i] != '%') continue;
        const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
        if (i + 2 >= target.size() || !hex(target[i + 1]) || !hex(target[i + 2])) return true;
        if (target[i + 1] == '0' && target[i + 2] == '0') return true;
        i += 2;
    }
    return false;
}

std::string bearer_token(std::string_view authorization) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size()) return {};
    // The scheme name is case-insensitive (RFC 7235).
    for (size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i]))) {
            return {};
        }
    }
    auto token = authorization.substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    return std::string(token);
}

}  // namespace presence_host
