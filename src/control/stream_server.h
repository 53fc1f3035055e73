// StreamServer: a listening socket (a unix socket path, or a TCP address) and one thread per
// connection, up to a cap; what a connection means is the `Serve` function's business
// (control_socket.h: JSON commands; http_server.h: HTTP).
//
//   auto server = StreamServer::ListenUnix("/run/vigil/vigil.sock", 0660, serve, {.max_clients =
//   64});
//   ...
//   server->reset();   // stops: closes the listener, shuts every connection down, joins
//
// A connection beyond `max_clients` is closed at once and counted (rejected()). Connections
// are served on their own threads so that a slow command (a reload waits for its build) stalls
// only its client; none of them touches the packet path.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"

namespace vigil::control {

// One accepted connection, as the Serve function sees it.
class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}
  // Up to `max` bytes; 0 on end of stream, error, or server stop.
  [[nodiscard]] size_t Read(char* buf, size_t max);
  // All of `bytes`; false when the peer went away.
  bool Write(std::string_view bytes);
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
};

struct ServerOptions {
  uint32_t max_clients = 64;
  // A connection idle this long is closed (0: never).
  uint32_t idle_timeout_s = 0;
};

class StreamServer {
 public:
  using Serve = std::function<void(Connection&)>;

  // A unix stream socket at `path` (an old socket file there is replaced; its directory must
  // exist), with permissions `mode`.
  [[nodiscard]] static base::Result<std::unique_ptr<StreamServer>> ListenUnix(
      const std::string& path, uint32_t mode, Serve serve, ServerOptions options = {});
  // "ADDR:PORT" (IPv4 or [IPv6]; port 0 picks a free one, see port()).
  [[nodiscard]] static base::Result<std::unique_ptr<StreamServer>> ListenTcp(
      const std::string& address, Serve serve, ServerOptions options = {});
  ~StreamServer();

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] uint64_t accepted() const { return accepted_.load(); }
  [[nodiscard]] uint64_t rejected() const { return rejected_.load(); }
  [[nodiscard]] uint32_t clients() const { return clients_.load(); }

 private:
  struct Client {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  StreamServer(int fd, Serve serve, ServerOptions options, std::string unlink_path)
      : listen_fd_(fd),
        serve_(std::move(serve)),
        options_(options),
        unlink_path_(std::move(unlink_path)) {}
  void Start();
  void AcceptLoop();
  void Reap(bool all);

  int listen_fd_;
  Serve serve_;
  ServerOptions options_;
  std::string unlink_path_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::list<Client> clients_list_;
  std::atomic<uint64_t> accepted_{0}, rejected_{0};
  std::atomic<uint32_t> clients_{0};
};

}  // namespace vigil::control
