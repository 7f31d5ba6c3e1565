#include "host_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tcp.h>  // struct tcp_info with tcpi_data_segs_in (glibc's lacks it)
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

namespace host_test {
namespace {

int connect_to(int port, const std::string& source_ip) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in source{};
    source.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip.c_str(), &source.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
        ::close(fd);
        return -1;
    }
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &target.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool wait_readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) > 0;
}

bool send_all(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

int status_of(const std::string& head) {
    // "HTTP/1.1 401 Unauthorized"
    const auto space = head.find(' ');
    return space == std::string::npos ? 0 : std::atoi(head.c_str() + space + 1);
}

}  // namespace

HostProcess::HostProcess(const std::string& config, const std::vector<std::string>& extra_args,
                         unsigned long max_files) {
    char pattern[] = "/tmp/presence-host-test-XXXXXX";
    if (!mkdtemp(pattern)) return;
    dir_ = pattern;
    config_path_ = dir_ + "/host.conf";
    log_path_ = dir_ + "/host.log";
    std::ofstream(config_path_) << config;

    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
        if (max_files > 0) {
            const rlimit limit{max_files, max_files};
            setrlimit(RLIMIT_NOFILE, &limit);
        }
        dup2(out[1], STDOUT_FILENO);
        // The log goes to a file in the temp dir so tests can read what the host said.
        const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (log_fd >= 0) dup2(log_fd, STDERR_FILENO);
        ::close(out[0]);
        ::close(out[1]);
        std::vector<std::string> args = {PRESENCE_HOST_EXE, "--config", config_path_, "--plugin",
                                         PRESENCE_PLUGIN_SO};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    ::close(out[1]);
    // Read the "listening on http://127.0.0.1:PORT" line, bounded in time.
    std::string line;
    char c;
    while (line.find('\n') == std::string::npos && wait_readable(out[0], 10000) &&
           read(out[0], &c, 1) == 1) {
        line += c;
    }
    ::close(out[0]);
    const std::string prefix = "listening on http://127.0.0.1:";
    if (line.starts_with(prefix)) port_ = std::atoi(line.c_str() + prefix.size());
}

int HostProcess::stop(int signum) {
    if (pid_ <= 0) return -1;
    kill(pid_, signum);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        usleep(50 * 1000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
}

HostProcess::~HostProcess() {
    stop();
    if (!dir_.empty()) {
        unlink(config_path_.c_str());
        unlink(log_path_.c_str());
        rmdir(dir_.c_str());
    }
}

std::string HostProcess::log() const {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

HttpReply http_request(int port, const std::string& method, const std::string& path,
                       const std::string& bearer, const std::string& body) {
    HttpReply reply;
    const int fd = connect_to(port, "127.0.0.1");
    if (fd < 0) return reply;
    std::string request =
        method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "Connection: close\r\n";
    if (!bearer.empty()) request += "Authorization: Bearer " + bearer + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT") {
        request +=
            "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n";
    }
    request += "\r\n" + body;
    send_all(fd, request);
    std::string response;
    char buffer[8192];
    while (wait_readable(fd, 5000)) {
        const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        response.append(buffer, static_cast<size_t>(n));
        const auto end = response.find("\r\n\r\n");
        if (end != std::string::npos) {
            // Stop once Content-Length bytes are in (keep-alive servers may not close).
            const auto cl = response.find("content-length: ");
            if (cl != std::string::npos && cl < end) {
                const size_t want = std::strtoul(response.c_str() + cl + 16, nullptr, 10);
                if (response.size() >= end + 4 + want) break;
            }
        }
    }
    ::close(fd);
    reply.status = status_of(response);
    const auto end = response.find("\r\n\r\n");
    if (end != std::string::npos) reply.body = response.substr(end + 4);
    return reply;
}

WsClient::~WsClient() {
    if (fd_ >= 0) ::close(fd_);
}

int WsClient::connect(int port, const std::string& path, const std::string& source_ip) {
    return connect_slowly(port, path, 0, 0, 0, source_ip);
}

int WsClient::connect_slowly(int port, const std::string& path, int silent_ms, size_t first_bytes,
                             int gap_ms, const std::string& source_ip) {
    fd_ = connect_to(port, source_ip);
    if (fd_ < 0) return 0;
    const std::string request = "GET " + path +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: "
                                "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (silent_ms > 0) usleep(static_cast<useconds_t>(silent_ms) * 1000);
    const size_t split = first_bytes > 0 && first_bytes < request.size() ? first_bytes : 0;
    if (split > 0) {
        if (!send_all(fd_, request.substr(0, split))) return 0;
        usleep(static_cast<useconds_t>(gap_ms) * 1000);
    }
    if (!send_all(fd_, request.substr(split))) return 0;
    std::string response;
    char buffer[4096];
    while (response.find("\r\n\r\n") == std::string::npos && wait_readable(fd_, 5000)) {
        const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        response.append(buffer, static_cast<size_t>(n));
    }
    const auto end = response.find("\r\n\r\n");
    if (end != std::string::npos) pending_ = response.substr(end + 4);
    return status_of(response);
}

namespace {

// One masked client frame (RFC 6455 5.2): text, or a continuation.
std::string masked_frame(const std::string& text, bool fin, bool continuation) {
    std::string frame;
    frame += static_cast<char>((fin ? 0x80 : 0) | (continuation ? 0x0 : 0x1));
    const size_t n = text.size();
    if (n < 126) {
        frame += static_cast<char>(0x80 | n);
    } else if (n < 65536) {
        frame += static_cast<char>(0x80 | 126);
        frame += static_cast<char>(n >> 8);
        frame += static_cast<char>(n & 0xff);
    } else {
        frame += static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            frame += static_cast<char>((n >> shift) & 0xff);
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    frame.append(mask, 4);
    for (size_t i = 0; i < n; ++i) frame += static_cast<char>(text[i] ^ mask[i % 4]);
    return frame;
}

}  // namespace

bool WsClient::send_text(const std::string& text, bool fin, bool continuation) {
    return send_all(fd_, masked_frame(text, fin, continuation));
}

bool WsClient::send_texts_in_one_write(const std::vector<std::string>& texts) {
    std::string bytes;
    for (const std::string& text : texts) bytes += masked_frame(text, true, false);
    return send_all(fd_, bytes);
}

long WsClient::data_segments_received() const {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
    return static_cast<long>(info.tcpi_data_segs_in);
}

bool WsClient::read_exact(char* out, size_t n, int timeout_ms) {
    while (pending_.size() < n) {
        if (!wait_readable(fd_, timeout_ms)) return false;
        char buffer[65536];
        const ssize_t got = recv(fd_, buffer, sizeof buffer, 0);
        if (got <= 0) return false;
        pending_.append(buffer, static_cast<size_t>(got));
    }
    std::memcpy(out, pending_.data(), n);
    pending_.erase(0, n);
    return true;
}

int WsClient::read_frame(std::string& payload, int timeout_ms) {
    unsigned char head[2];
    if (fd_ < 0 || !read_exact(reinterpret_cast<char*>(head), 2, timeout_ms)) return -1;
    uint64_t n = head[1] & 0x7f;
    if (n >= 126) {
        unsigned char ext[8];
        const size_t width = n == 126 ? 2 : 8;
        if (!read_exact(reinterpret_cast<char*>(ext), width, timeout_ms)) return -1;
        n = 0;
        for (size_t i = 0; i < width; ++i) n = (n << 8) | ext[i];
    }
    payload.assign(n, '\0');
    if (n && !read_exact(payload.data(), n, timeout_ms)) return -1;
    return head[0] & 0x0f;
}

bool WsClient::wait_for(const std::string& needle, std::string* frame, int timeout_ms) {
    std::string payload;
    for (;;) {
        const int opcode = read_frame(payload, timeout_ms);
        if (opcode < 0 || opcode == 8) return false;
        if (payload.find(needle) != std::string::npos) {
            if (frame) *frame = payload;
            return true;
        }
    }
}

void WsClient::shrink_receive_buffer() {
    int size = 4096;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

std::string run_and_capture(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return out;
    char buffer[512];
    while (fgets(buffer, sizeof buffer, pipe)) out += buffer;
    pclose(pipe);
    return out;
}

}  // namespace host_test
