#include "socket_ring.hpp"

#include <liburing.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace presence_host {

SocketRing::SocketRing(size_t buffer_bytes) : buffer_bytes_(buffer_bytes) {}

SocketRing::~SocketRing() {
    if (ring_) io_uring_queue_exit(ring_.get());
}

bool SocketRing::open(std::string& why) {
    if (ring_) return true;
    auto ring = std::make_unique<io_uring>();
    io_uring_params params{};
    // SUBMIT_ALL: one failing send (a reset peer) must not stop the sends staged after it.
    // COOP_TASKRUN: no interrupt to run completion work; we collect it in the same call.
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
    int rc = io_uring_queue_init_params(kEntries, ring.get(), &params);
    if (rc == -EINVAL) {  // a kernel older than 5.19 knows neither flag
        params = io_uring_params{};
        rc = io_uring_queue_init_params(kEntries, ring.get(), &params);
    }
    if (rc < 0) {
        why = std::strerror(-rc);
        return false;
    }
    ring_ = std::move(ring);
    buffer_.resize(buffer_bytes_);
    ops_.reserve(kEntries);
    outcomes_.reserve(kEntries);
    return true;
}

std::span<unsigned char> SocketRing::room() {
    return {buffer_.data() + used_, buffer_.size() - used_};
}

bool SocketRing::stage(int fd, size_t len, uint64_t tag, bool recv) {
    if (!ring_ || ops_.size() >= kEntries || len > buffer_.size() - used_) return false;
    ops_.push_back({fd, used_, len, tag, recv});
    used_ += len;
    return true;
}

void SocketRing::issue() {
    if (ops_.empty()) return;
    for (const Staged& s : ops_) {
        io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());  // never null: kEntries sqes
        // MSG_DONTWAIT: a full (or empty) socket answers -EAGAIN at once instead of waiting
        // in the ring.
        if (s.recv) {
            io_uring_prep_recv(sqe, s.fd, buffer_.data() + s.offset, s.len, MSG_DONTWAIT);
        } else {
            io_uring_prep_send(sqe, s.fd, buffer_.data() + s.offset, s.len,
                               MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        io_uring_sqe_set_data64(sqe, static_cast<uint64_t>(&s - ops_.data()));
    }
    int submitted = io_uring_submit(ring_.get());
    while (submitted == -EINTR) submitted = io_uring_submit(ring_.get());
    const size_t expected = submitted > 0 ? static_cast<size_t>(submitted) : 0;
    answered_.assign(ops_.size(), false);
    size_t answers = 0;
    auto collect = [&] {
        io_uring_cqe* cqe = nullptr;
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_for_each_cqe(ring_.get(), head, cqe) {
            ++seen;
            const uint64_t index = io_uring_cqe_get_data64(cqe);
            if (index >= ops_.size() || answered_[index]) continue;  // the cancel's own
            answered_[index] = true;
            ++answers;
            const Staged& s = ops_[index];
            // An operation cancelled below moved nothing: report it like a full socket.
            const int result = cqe->res == -ECANCELED ? -EAGAIN : cqe->res;
            outcomes_.push_back({s.tag, result, buffer_.data() + s.offset, s.len});
        }
        io_uring_cq_advance(ring_.get(), seen);
    };
    collect();
    if (answers < expected) {
        // Not expected (non-blocking operations complete inline), but the buffer must not be
        // reused under an operation still in the ring: cancel what is left and wait for it.
        io_uring_sqe* cancel = io_uring_get_sqe(ring_.get());
        if (cancel) {
            io_uring_prep_cancel64(cancel, 0, IORING_ASYNC_CANCEL_ANY);
            io_uring_sqe_set_data64(cancel, UINT64_MAX);
            io_uring_submit(ring_.get());
        }
        while (answers < expected) {
            io_uring_cqe* cqe = nullptr;
            if (io_uring_wait_cqe(ring_.get(), &cqe) < 0) break;
            collect();
        }
    }
    if (expected < ops_.size() || answers < expected) {
        // The ring refused work (out of memory) or lost track of it. What it did not take
        // must never run later on stale bytes: give the ring up; the caller uses send() /
        // recv() from now on, starting with these (reported as -EAGAIN: nothing moved).
        io_uring_queue_exit(ring_.get());
        ring_.reset();
    }
    for (size_t i = 0; i < ops_.size(); ++i) {
        if (answered_[i]) continue;
        const Staged& s = ops_[i];
        outcomes_.push_back({s.tag, -EAGAIN, buffer_.data() + s.offset, s.len});
    }
    ops_.clear();  // the buffer is freed by submit(), once the outcomes are read
}

}  // namespace presence_host
