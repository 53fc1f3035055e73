// stats_poller: N clients on vigil's control socket, each asking `stats` R times a second on its
// own connection for S seconds, as an operator's pollers would (stats_poll_cost.sh, issue 24).
// A compiled client, so that the load the test itself puts on the machine is what asking costs
// (a send, a receive of the answer) and not an interpreter's: on a 2-vCPU machine whose CPUs are
// SMT siblings the pollers share a core with the worker, and their own work slows it.
//
//   stats_poller --socket /run/vigil/vigil.sock [--clients 10] [--rate 100] [--seconds 3]
//
// Prints one line on stderr: answers per second, and the CPU this process used (user + system,
// as a fraction of one CPU). Exit status 1 when a client cannot connect or an answer is cut off.
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// One client: its own connection, `rate` requests a second until `end`; returns false on error.
bool Client(const std::string& path, double rate, std::chrono::steady_clock::time_point end,
            std::atomic<uint64_t>& answers) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return false;
  }
  static constexpr std::string_view kRequest = "{\"command\":\"stats\"}\n";
  std::vector<char> buf(1 << 16);
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(1.0 / rate));
  auto next = std::chrono::steady_clock::now();
  bool ok = true;
  while (ok && std::chrono::steady_clock::now() < end) {
    ok = send(fd, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) == ssize_t(kRequest.size());
    // One answer: bytes up to a newline (an answer holds none inside).
    for (bool done = false; ok && !done;) {
      const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      ok = n > 0;
      done = ok && buf[size_t(n) - 1] == '\n';
    }
    if (ok) answers.fetch_add(1, std::memory_order_relaxed);
    next += period;
    std::this_thread::sleep_until(next);
  }
  close(fd);
  return ok || std::chrono::steady_clock::now() >= end;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int clients = 10;
  double rate = 100, seconds = 3;
  CLI::App app{"N clients asking vigil's control socket for stats R times a second"};
  app.add_option("--socket", path, "vigil's control socket")->required();
  app.add_option("--clients", clients, "clients, each on its own connection")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--rate", rate, "requests per second per client")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 100000.0));
  app.add_option("--seconds", seconds, "how long")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  CLI11_PARSE(app, argc, argv);
  std::atomic<uint64_t> answers{0};
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&] {
      if (!Client(path, rate, end, answers)) failed.store(true);
    });
  }
  for (std::thread& t : threads) t.join();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  fmt::print(stderr, "{:.1f} {:.4f}\n", double(answers.load()) / wall, cpu / wall);
  if (failed.load()) {
    fmt::print(stderr, "stats_poller: a client could not connect to {} or lost its answer\n", path);
    return 1;
  }
  return 0;
}
