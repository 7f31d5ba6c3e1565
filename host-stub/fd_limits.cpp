#include "fd_limits.hpp"

#include <sys/resource.h>

namespace presence_host {

unsigned int fd_limit_for_lws(unsigned int hard) {
    return hard > 2 * kSpareFds ? hard - kSpareFds : hard / 2;
}

unsigned int raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur == RLIM_INFINITY ? 65536u : static_cast<unsigned int>(limit.rlim_cur);
}

unsigned int lower_fd_limit_for_lws() {
    const unsigned int hard = raise_fd_limit();
    const unsigned int mine = fd_limit_for_lws(hard);
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return hard;
    limit.rlim_cur = mine;
    return setrlimit(RLIMIT_NOFILE, &limit) == 0 ? mine : hard;
}

}  // namespace presence_host
