#include "control/stream_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vigil::control {

size_t Connection::Read(char* buf, size_t max) {
  for (;;) {
    ssize_t n = ::recv(fd_, buf, max, 0);
    if (n > 0) return size_t(n);
    if (n < 0 && errno == EINTR) continue;
    return 0;
  }
}

bool Connection::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

base::Result<std::unique_ptr<StreamServer>> StreamServer::ListenUnix(const std::string& path,
                                                                     uint32_t mode, Serve serve,
                                                                     ServerOptions options) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return base::MakeError("--unix-socket " + path + ": a socket path must be 1 to " +
                           std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::MakeError("--unix-socket " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      ::close(fd);
      return base::MakeError("--unix-socket " + path + ": exists and is not a socket");
    }
    ::unlink(path.c_str());  // left over from a run that did not stop cleanly
  }
  // Created with no permissions for others, then opened up to `mode`: no window in which the
  // socket is wider than asked.
  mode_t old_mask = ::umask(0777 & ~mode);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old_mask);
  if (rc != 0 || ::chmod(path.c_str(), mode) != 0 || ::listen(fd, 64) != 0) {
    if (rc == 0) err = errno;
    ::close(fd);
    return base::MakeError("--unix-socket " + path + ": " + std::strerror(err));
  }
  std::unique_ptr<StreamServer> server(new StreamServer(fd, std::move(serve), options, path));
  server->Start();
  return server;
}

base::Result<std::unique_ptr<StreamServer>> StreamServer::ListenTcp(const std::string& address,
                                                                    Serve serve,
                                                                    ServerOptions options) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return base::MakeError("--http " + address + ": expected ADDR:PORT");
  }
  std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  char* end = nullptr;
  unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (*end != '\0' || port > 65535) return base::MakeError("--http " + address + ": bad port");
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(uint16_t(port));
    if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) != 1) {
      return base::MakeError("--http " + address + ": bad IPv6 address");
    }
    len = sizeof *a6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(uint16_t(port));
    if (host.empty()) host = "0.0.0.0";
    if (::inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) {
      return base::MakeError("--http " + address + ": bad IPv4 address");
    }
    len = sizeof *a4;
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::MakeError("--http " + address + ": " + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 64) != 0) {
    int err = errno;
    ::close(fd);
    return base::MakeError("--http " + address + ": " + std::strerror(err));
  }
  std::unique_ptr<StreamServer> server(new StreamServer(fd, std::move(serve), options, ""));
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen) == 0) {
    server->port_ =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  server->Start();
  return server;
}

void StreamServer::Start() {
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

void StreamServer::AcceptLoop() {
  while (!stop_.load()) {
    pollfd p{.fd = listen_fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, 100) <= 0) {
      Reap(false);
      continue;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Reap(false);
    if (clients_.load() >= options_.max_clients) {
      ++rejected_;
      ::close(fd);
      continue;
    }
    if (options_.idle_timeout_s > 0) {
      timeval tv{.tv_sec = time_t(options_.idle_timeout_s), .tv_usec = 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ++accepted_;
    ++clients_;
    std::lock_guard lock(mu_);
    Client& c = clients_list_.emplace_back();
    c.fd = fd;
    c.thread = std::thread([this, &c] {
      Connection conn(c.fd);
      serve_(conn);
      ::shutdown(c.fd, SHUT_RDWR);
      --clients_;
      c.done.store(true);
    });
  }
}

// Joins the connections that have ended (all of them, shutting them down, when `all`).
void StreamServer::Reap(bool all) {
  std::lock_guard lock(mu_);
  for (auto it = clients_list_.begin(); it != clients_list_.end();) {
    if (all) ::shutdown(it->fd, SHUT_RDWR);
    if (all || it->done.load()) {
      it->thread.join();
      ::close(it->fd);
      it = clients_list_.erase(it);
    } else {
      ++it;
    }
  }
}

StreamServer::~StreamServer() {
  stop_.store(true);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  Reap(true);
  if (!unlink_path_.empty()) ::unlink(unlink_path_.c_str());
}

}  // namespace vigil::control
