#include "ring_sender.hpp"

#include <liburing.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace presence_host {

RingSender::RingSender() = default;

RingSender::~RingSender() {
    if (ring_) io_uring_queue_exit(ring_.get());
}

bool RingSender::open(std::string& why) {
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
    arena_.resize(kArenaBytes);
    sends_.reserve(kEntries);
    outcomes_.reserve(kEntries);
    return true;
}

std::span<unsigned char> RingSender::room() {
    return {arena_.data() + used_, arena_.size() - used_};
}

bool RingSender::commit(int fd, size_t len, uint64_t tag) {
    if (sends_.size() >= kEntries || len > arena_.size() - used_) return false;
    sends_.push_back({fd, used_, len, tag});
    used_ += len;
    return true;
}

void RingSender::issue() {
    if (sends_.empty()) return;
    for (const Staged& s : sends_) {
        io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());  // never null: kEntries sqes
        // MSG_DONTWAIT: a full socket answers -EAGAIN at once instead of waiting in the ring.
        io_uring_prep_send(sqe, s.fd, arena_.data() + s.offset, s.len, MSG_DONTWAIT | MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, static_cast<uint64_t>(&s - sends_.data()));
    }
    int submitted = io_uring_submit(ring_.get());
    while (submitted == -EINTR) submitted = io_uring_submit(ring_.get());
    const size_t expected = submitted > 0 ? static_cast<size_t>(submitted) : 0;
    answered_.assign(sends_.size(), false);
    size_t answers = 0;
    auto collect = [&] {
        io_uring_cqe* cqe = nullptr;
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_for_each_cqe(ring_.get(), head, cqe) {
            ++seen;
            const uint64_t index = io_uring_cqe_get_data64(cqe);
            if (index >= sends_.size() || answered_[index]) continue;  // the cancel's own
            answered_[index] = true;
            ++answers;
            const Staged& s = sends_[index];
            // A send cancelled below wrote nothing: report it like a full socket.
            const int result = cqe->res == -ECANCELED ? -EAGAIN : cqe->res;
            outcomes_.push_back({s.tag, result, arena_.data() + s.offset, s.len});
        }
        io_uring_cq_advance(ring_.get(), seen);
    };
    collect();
    if (answers < expected) {
        // Not expected (non-blocking sends complete inline), but the arena must not be reused
        // under a send still in the ring: cancel what is left and wait for it.
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
    if (expected < sends_.size() || answers < expected) {
        // The ring refused work (out of memory) or lost track of it. What it did not take
        // must never be sent later with stale bytes: give the ring up; the caller writes with
        // send() from now on, starting with these (reported as not written).
        io_uring_queue_exit(ring_.get());
        ring_.reset();
    }
    for (size_t i = 0; i < sends_.size(); ++i) {
        if (answered_[i]) continue;
        const Staged& s = sends_[i];
        outcomes_.push_back({s.tag, -EAGAIN, arena_.data() + s.offset, s.len});
    }
    sends_.clear();
    used_ = 0;
}

}  // namespace presence_host
