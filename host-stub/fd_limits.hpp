// The process' open-files limit, as lws needs it: a little below the hard limit while lws'
// context is created (so lws, which counts only its own sockets, stops taking connections
// before the process runs out), then all of it for everything else (host_start.cpp).
#pragma once

namespace presence_host {

// Descriptors kept out of lws' reach for everything else in the process (plugin, store
// connections, libev, the wake pipe, log and config files).
constexpr unsigned int kSpareFds = 64;

// The soft limit lws is given for a hard limit of `hard`: kSpareFds below it, or half of a
// hard limit too small for that.
unsigned int fd_limit_for_lws(unsigned int hard);

// Raises the soft open-files limit to the hard one so ~20,000 sockets fit; returns it.
unsigned int raise_fd_limit();

// Sets the soft open-files limit to fd_limit_for_lws(hard); returns it (the hard one when it
// cannot be set).
unsigned int lower_fd_limit_for_lws();

}  // namespace presence_host
