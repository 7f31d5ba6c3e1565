// The process' recv(), wrapping the kernel's: lws 4.1.6 reads every plain socket with recv()
// (lws_ssl_capable_read_no_ssl) through its PLT, and a definition in the executable comes
// first in the dynamic linker's search, so lws (and everything else in the process) calls this
// one. It asks the active FrameMaskGuard how much of what was read lws may see: an unwatched
// socket costs one atomic load and an array index (frame_mask_guard.hpp says why).
// Check that it is in force: `nm -D presence-host | grep ' T recv'`.
#include <errno.h>
#include <sys/socket.h>

#include "frame_mask_guard.hpp"

extern "C" ssize_t recv(int fd, void* buf, size_t len, int flags) {
    // glibc's own recv is exactly this call.
    const ssize_t got = recvfrom(fd, buf, len, flags, nullptr, nullptr);
    if (got <= 0 || (flags & MSG_PEEK)) return got;
    presence_host::FrameMaskGuard* guard = presence_host::active_frame_mask_guard();
    if (!guard) return got;
    const ssize_t pass = guard->screen(fd, static_cast<const uint8_t*>(buf), got);
    if (pass < 0) errno = EAGAIN;  // nothing lws may see: as if nothing had arrived
    return pass;
}
