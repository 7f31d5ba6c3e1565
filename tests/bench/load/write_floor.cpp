// The cost floor for one delivery: a small frame written to a loopback TCP socket, one write()
// per frame, and the same frames 64 per writev(). The server cannot deliver a frame for less
// CPU than the kernel charges for this, so fan-out cost is reported against it.
//
// write_floor [--frames N] [--size BYTES] [--batch K] [--pin]
// --pin: writer on CPU 0, reader on CPU 1, as presence_load --pin places server and tool.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

std::uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}
std::uint64_t wall_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// A connected loopback TCP pair: [0] writes, [1] is drained by a reader thread.
bool tcp_pair(int fds[2]) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(l, 1) != 0 ||
        getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
        return false;
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fds[0], reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return false;
    fds[1] = accept(l, nullptr, nullptr);
    close(l);
    int one = 1;
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fds[1] >= 0;
}

struct Result {
    double cpu_ns_per_frame;
    double wall_ns_per_frame;
};

void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

Result run(std::size_t frames, std::size_t size, std::size_t batch, bool pin) {
    int fds[2];
    if (!tcp_pair(fds)) {
        std::perror("tcp pair");
        std::exit(1);
    }
    std::atomic<bool> done{false};
    std::thread reader([&] {
        if (pin) pin_to(1);
        std::vector<char> buf(1 << 16);
        while (read(fds[1], buf.data(), buf.size()) > 0) {
        }
        done = true;
    });
    // A presence frame of the given size (content does not matter to the kernel).
    std::string frame(size, 'x');
    std::vector<iovec> iov(batch, iovec{frame.data(), frame.size()});
    std::uint64_t c0 = thread_cpu_ns(), w0 = wall_ns();
    std::size_t sent = 0;
    while (sent < frames) {
        if (batch == 1) {
            if (write(fds[0], frame.data(), frame.size()) != static_cast<ssize_t>(size)) break;
            ++sent;
        } else {
            ssize_t w = writev(fds[0], iov.data(), static_cast<int>(batch));
            if (w != static_cast<ssize_t>(size * batch)) break;
            sent += batch;
        }
    }
    std::uint64_t c1 = thread_cpu_ns(), w1 = wall_ns();
    shutdown(fds[0], SHUT_WR);
    reader.join();
    close(fds[0]);
    close(fds[1]);
    return {static_cast<double>(c1 - c0) / static_cast<double>(sent),
            static_cast<double>(w1 - w0) / static_cast<double>(sent)};
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t frames = 1'000'000, size = 100, batch = 64;
    bool pin = false;
    for (int i = 1; i < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--pin") {
            pin = true;
            --i;
            continue;
        }
        if (i + 1 >= argc) break;
        if (a == "--frames")
            frames = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--size")
            size = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--batch")
            batch = std::strtoull(argv[i + 1], nullptr, 10);
    }
    if (batch == 0 || batch > 1024 || size == 0) return 2;
    if (pin) pin_to(0);
    Result one = run(frames, size, 1, pin);
    Result many = run(frames, size, batch, pin);
    std::printf("write_floor: %zu frames of %zu bytes on loopback TCP%s\n", frames, size,
                pin ? ", writer on CPU 0, reader on CPU 1" : "");
    std::printf("  write() per frame      %8.0f ns CPU (sender thread), %8.0f ns wall\n",
                one.cpu_ns_per_frame, one.wall_ns_per_frame);
    std::printf("  writev() of %-4zu       %8.0f ns CPU per frame, %8.0f ns wall per frame\n",
                batch, many.cpu_ns_per_frame, many.wall_ns_per_frame);
    std::printf(
        "{\"frames\":%zu,\"size\":%zu,\"write_cpu_ns\":%.1f,\"write_wall_ns\":%.1f,"
        "\"batch\":%zu,\"writev_cpu_ns\":%.1f,\"writev_wall_ns\":%.1f}\n",
        frames, size, one.cpu_ns_per_frame, one.wall_ns_per_frame, batch, many.cpu_ns_per_frame,
        many.wall_ns_per_frame);
    return 0;
}
