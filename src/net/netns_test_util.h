// Network namespaces for tests: each test builds its own topology (namespaces, veth pairs) with
// `ip`, and everything is removed when the objects go away, also when an assertion fails.
// Tests that need them skip, with the reason, when the process cannot create namespaces.
//
//   if (auto why = test::NetnsUnavailable()) GTEST_SKIP() << *why;
//   test::Netns ns("net");                                 // "vigil-<pid>-net"
//   ns.Run("ip link add a type veth peer name b && ip link set a up && ip link set b up");
//   test::EnterNetns inside(ns);                           // this thread's sockets live in ns
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace vigil::test {

// A file's whole contents ("" when it cannot be read).
inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `ready` every 50 ms until it is true or `timeout` has passed; its last answer.
inline bool WaitFor(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ready();
}

// Writes `bytes` pseudo-random bytes (xorshift64, the same every time) to `p`: a download that
// compression cannot shorten, to compare byte for byte.
inline void WriteRandomFile(const std::filesystem::path& p, size_t bytes) {
  std::ofstream out(p, std::ios::binary);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < bytes / 8; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out.write(reinterpret_cast<const char*>(&x), 8);
  }
}

// Runs `command` with /bin/sh; returns its exit status (-1 when it could not run).
inline int Shell(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Runs `command` with /bin/sh and returns what it printed on stdout.
inline std::string ShellOutput(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

// Why namespace tests cannot run here, or nothing when they can.
inline std::optional<std::string> NetnsUnavailable() {
  if (geteuid() != 0) return "needs root (network namespaces and packet sockets)";
  if (Shell("command -v ip >/dev/null 2>&1") != 0) return "needs iproute2's `ip`";
  std::string probe = "vigil-probe-" + std::to_string(getpid());
  if (Shell("ip netns add " + probe + " 2>/dev/null") != 0) {
    return "`ip netns add` failed (no CAP_SYS_ADMIN?)";
  }
  Shell("ip netns del " + probe);
  return std::nullopt;
}

// Why a namespace test that runs `tools` (curl, python3, ...) cannot run here, or nothing.
inline std::optional<std::string> NetnsTestUnavailable(std::initializer_list<const char*> tools) {
  if (auto why = NetnsUnavailable()) return why;
  for (const char* tool : tools) {
    if (Shell(std::string("command -v ") + tool + " >/dev/null") != 0) {
      return std::string(tool) + " is missing (scripts/install-deps.sh installs it)";
    }
  }
  return std::nullopt;
}

// An empty directory "<tmp>/<prefix>_<pid>_<test>" for one test's files.
inline std::filesystem::path FreshTestDir(const std::string& prefix, const std::string& test) {
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + "_" + std::to_string(getpid()) + "_" + test);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

class Netns {
 public:
  // Creates the namespace "vigil-<pid>-<suffix>" with its loopback up.
  explicit Netns(const std::string& suffix)
      : name_("vigil-" + std::to_string(getpid()) + "-" + suffix) {
    Shell("ip netns del " + name_ + " 2>/dev/null");
    ok_ = Shell("ip netns add " + name_) == 0 && Run("ip link set lo up") == 0;
  }
  ~Netns() {
    // Processes still inside would keep their sockets; kill them before removing the namespace.
    Shell("ip netns pids " + name_ + " 2>/dev/null | xargs -r kill -9 2>/dev/null");
    Shell("ip netns del " + name_ + " 2>/dev/null");
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  // Runs `command` inside the namespace; its exit status.
  int Run(const std::string& command) const {
    return Shell("ip netns exec " + name_ + " sh -c '" + command + "'");
  }
  [[nodiscard]] std::string Output(const std::string& command) const {
    return ShellOutput("ip netns exec " + name_ + " sh -c '" + command + "'");
  }
  // The prefix that runs a program inside the namespace.
  [[nodiscard]] std::string Exec() const { return "ip netns exec " + name_ + " "; }

 private:
  std::string name_;
  bool ok_ = false;
};

// Moves the calling thread into `ns` (sockets it opens belong there) until destroyed.
class EnterNetns {
 public:
  explicit EnterNetns(const Netns& ns) {
    saved_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int fd = open(("/var/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
    ok_ = saved_ >= 0 && fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) close(fd);
  }
  ~EnterNetns() {
    if (saved_ >= 0) {
      (void)setns(saved_, CLONE_NEWNET);
      close(saved_);
    }
  }
  EnterNetns(const EnterNetns&) = delete;
  EnterNetns& operator=(const EnterNetns&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  int saved_ = -1;
  bool ok_ = false;
};

// A background command (run by /bin/sh in a process group of its own), killed with its children
// when the object goes away unless it was waited for.
class Process {
 public:
  explicit Process(const std::string& command) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid_ > 0) setpgid(pid_, pid_);
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] bool started() const { return pid_ > 0; }
  // Sends `sig` to the whole group (the shell and what it started).
  void Signal(int sig) const {
    if (pid_ > 0 && !exited_) kill(-pid_, sig);
  }
  // Waits up to `timeout`; the exit status, or -1 when it did not end in time (or was killed).
  int Wait(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!exited_) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        break;
      }
      if (std::chrono::steady_clock::now() >= until) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
  }
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

// Three namespaces in a line around a forwarder (vigil inline, or a bridge for IDS tests):
//
//   client [c0 10.N.0.1/24] — veth — [va  middle  vb] — veth — [s0 10.N.0.2/24] server
//
// va and vb are up, with no address and no IPv6 (they send nothing of their own). The
// namespaces are "vigil-<pid>-<prefix>c", "...v" and "...s".
class ForwarderTopology {
 public:
  // Builds it; false (and ok() false) when a step fails.
  ForwarderTopology(const std::string& prefix, const std::string& subnet /* "10.77" */)
      : client(prefix + "c"), middle(prefix + "v"), server(prefix + "s") {
    ok_ = client.ok() && middle.ok() && server.ok() &&
          Shell("ip link add c0 netns " + client.name() + " type veth peer name va netns " +
                middle.name()) == 0 &&
          Shell("ip link add s0 netns " + server.name() + " type veth peer name vb netns " +
                middle.name()) == 0 &&
          middle.Run(
              "sysctl -qw net.ipv6.conf.va.disable_ipv6=1 && "
              "sysctl -qw net.ipv6.conf.vb.disable_ipv6=1 && "
              "ip link set va up && ip link set vb up") == 0 &&
          client.Run("ip addr add " + subnet + ".0.1/24 dev c0 && ip link set c0 up") == 0 &&
          server.Run("ip addr add " + subnet + ".0.2/24 dev s0 && ip link set s0 up") == 0;
  }
  [[nodiscard]] bool ok() const { return ok_; }

  Netns client, middle, server;

 private:
  bool ok_ = false;
};

}  // namespace vigil::test
