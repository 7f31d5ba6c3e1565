#include "http_client.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace presence::test {

namespace {

using Clock = std::chrono::steady_clock;

milliseconds left_until(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? milliseconds{0} : left;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Decodes a complete chunked body; false when it is not complete yet.
bool dechunk(const std::string& raw, std::string& out) {
    out.clear();
    std::size_t pos = 0;
    for (;;) {
        std::size_t eol = raw.find("\r\n", pos);
        if (eol == std::string::npos) return false;
        std::size_t len = std::strtoul(raw.substr(pos, eol - pos).c_str(), nullptr, 16);
        pos = eol + 2;
        if (len == 0) return true;
        if (raw.size() < pos + len + 2) return false;
        out.append(raw, pos, len);
        pos += len + 2;
    }
}

}  // namespace

HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& path,
                          const HttpHeaders& headers, const std::string& body,
                          milliseconds timeout) {
    HttpResponse res;
    const auto deadline = Clock::now() + timeout;
    TcpSocket sock;
    if (!sock.connect("127.0.0.1", port, timeout)) {
        res.error = sock.error();
        return res;
    }
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nConnection: close\r\n";
    for (const auto& [name, value] : headers) req += name + ": " + value + "\r\n";
    if (!body.empty() || method == "PUT" || method == "POST")
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n";
    req += body;
    if (!sock.write_all(req, left_until(deadline))) {
        res.error = sock.error();
        return res;
    }
    std::string in;
    char buf[16384];
    std::size_t header_end = std::string::npos;
    bool eof = false;
    long content_length = -1;
    bool chunked = false;
    for (;;) {
        if (header_end == std::string::npos) {
            header_end = in.find("\r\n\r\n");
            if (header_end != std::string::npos) {
                std::string head = in.substr(0, header_end);
                auto sp = head.find(' ');
                if (sp != std::string::npos) res.status = std::atoi(head.c_str() + sp + 1);
                std::size_t pos = head.find("\r\n");
                while (pos != std::string::npos) {
                    std::size_t next = head.find("\r\n", pos + 2);
                    std::string line = head.substr(
                        pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
                    auto colon = line.find(':');
                    if (colon != std::string::npos) {
                        std::string value = line.substr(colon + 1);
                        value.erase(0, value.find_first_not_of(" \t"));
                        while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
                            value.pop_back();
                        res.headers[lower(line.substr(0, colon))] = value;
                    }
                    pos = next;
                }
                if (res.headers.count("content-length"))
                    content_length = std::atol(res.headers["content-length"].c_str());
                chunked =
                    lower(res.headers["transfer-encoding"]).find("chunked") != std::string::npos;
            }
        }
        if (header_end != std::string::npos) {
            std::string raw = in.substr(header_end + 4);
            if (chunked) {
                if (dechunk(raw, res.body)) return res;
            } else if (content_length >= 0 &&
                       raw.size() >= static_cast<std::size_t>(content_length)) {
                res.body = raw.substr(0, static_cast<std::size_t>(content_length));
                return res;
            } else if (eof) {
                res.body = raw;
                return res;
            }
        }
        if (eof) {
            res.error = "connection closed before a complete answer";
            if (header_end == std::string::npos) res.status = 0;
            return res;
        }
        long n = sock.read_some(buf, sizeof buf, left_until(deadline));
        if (n > 0) {
            in.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || n == -2) {
            eof = true;
        } else {
            res.error = "timeout";
            res.status = 0;
            return res;
        }
    }
}

HttpResponse http_get(std::uint16_t port, const std::string& path, const std::string& token) {
    HttpHeaders h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    return http_request(port, "GET", path, h);
}

HttpResponse http_send(std::uint16_t port, const std::string& method, const std::string& path,
                       const std::string& body, const std::string& token, milliseconds timeout) {
    HttpHeaders h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    return http_request(port, method, path, h, body, timeout);
}

}  // namespace presence::test
