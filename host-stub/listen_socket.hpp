// The host's own listening socket (libev loop): the host accepts and hands each connection to
// libwebsockets (lws_adopt_socket_vhost) at a pace it chooses; see HostServer::on_listen_ready
// for why. Non-blocking, close-on-exec, SO_REUSEADDR, backlog SOMAXCONN; SO_REUSEPORT when
// asked (host.reuse_port), so several processes can listen on one address and port.
#pragma once

#include <string>

#include "listen_address.hpp"

namespace presence_host {

class ListenSocket {
  public:
    ListenSocket() = default;
    ~ListenSocket();
    ListenSocket(const ListenSocket&) = delete;
    ListenSocket& operator=(const ListenSocket&) = delete;

    // Binds and listens; false with a reason (after a failed socket call, errno is what it
    // set, e.g. EADDRINUSE). Port 0 takes a free port (see port()). `reuse_port` sets SO_REUSEPORT
    // before bind: the port may then be shared with other sockets that set it too (same
    // user); the kernel spreads new connections over them.
    bool open(const ListenAddress& where, std::string& error, bool reuse_port = false);
    bool is_open() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    int port() const { return port_; }  // the real one

  private:
    int fd_ = -1;
    int port_ = 0;
};

}  // namespace presence_host
