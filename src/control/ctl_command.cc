#include "control/ctl_command.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control/json_stream.h"

namespace vigil::control {

int RunCtlCommand(int argc, char** argv) {
  std::string socket_path = kDefaultSocket;
  std::string command;
  std::string raw;
  double timeout_s = 620;
  CLI::App app{"vigil ctl: send a command to a running vigil's control socket"};
  app.add_option("-s,--socket", socket_path, "the control socket")->capture_default_str();
  app.add_option("--timeout", timeout_s, "seconds to wait for the answer")->capture_default_str();
  app.add_option("--raw", raw, "send this JSON request object instead of a command name");
  app.add_option("command", command,
                 "stats (counters at most 0.1 s old: one answer serves all who ask within "
                 "vigil's refresh interval), reload, tenants, rules, reload-history, "
                 "command-list, version, uptime, shutdown");
  try {
    app.parse(argc, argv);
    if (command.empty() == raw.empty())
      throw CLI::ValidationError("command", "give a command or --raw, not both");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const std::string request = raw.empty() ? nlohmann::json{{"command", command}}.dump() : raw;

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    fmt::print(stderr, "vigil ctl: {}: path too long\n", socket_path);
    return 2;
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fmt::print(stderr,
               "vigil ctl: cannot connect to {}: {} (is vigil running with --unix-socket?)\n",
               socket_path, std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return 2;
  }
  timeval tv{.tv_sec = time_t(timeout_s), .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // Suricata's handshake first, then the command: two answers.
  const std::string out = R"({"version":"0.2"})"
                          "\n" +
                          request + "\n";
  if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != ssize_t(out.size())) {
    fmt::print(stderr, "vigil ctl: cannot send to {}: {}\n", socket_path, std::strerror(errno));
    ::close(fd);
    return 2;
  }
  JsonStream stream(64 << 20);
  std::vector<std::string> answers;
  char buf[65536];
  while (answers.size() < 2) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    auto st = stream.Feed({buf, size_t(n)}, [&](std::string_view o) { answers.emplace_back(o); });
    if (!st) break;
  }
  ::close(fd);
  if (answers.size() < 2) {
    fmt::print(stderr, "vigil ctl: no answer from {}\n", socket_path);
    return 2;
  }
  auto reply = nlohmann::json::parse(answers[1], nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    fmt::print(stderr, "vigil ctl: an answer that is not a JSON object: {}\n", answers[1]);
    return 2;
  }
  const bool ok = reply.contains("return") && reply["return"] == "OK";
  auto message = reply.find("message");
  if (!ok) {
    fmt::print(stderr, "vigil ctl: {}\n", reply.dump(2));
    return 1;
  }
  if (message == reply.end()) {
    fmt::print("OK\n");
  } else if (message->is_string()) {
    fmt::print("{}\n", message->get<std::string>());
  } else {
    fmt::print("{}\n", message->dump(2));
  }
  return 0;
}

}  // namespace vigil::control
