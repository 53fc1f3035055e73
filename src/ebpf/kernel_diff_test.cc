// Differential test against the Linux kernel: the XDP programs of tests/ebpf run on the same
// packets in vigil (the JIT, the fast and the checked interpreter) and in the kernel (libbpf loads
// them, and BPF_PROG_TEST_RUN runs each packet once); the return codes, the output packets and, at
// the end, the contents of every map must be identical. Skipped where the kernel refuses to load
// BPF programs (no CAP_BPF, or a kernel without BPF_PROG_TEST_RUN for XDP).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "craft/frame.h"
#include "ebpf/elf_loader.h"
#include "ebpf/fib.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

using Bytes = std::vector<uint8_t>;
using MapContents = std::map<Bytes, Bytes>;

std::string ObjPath(std::string_view stem) {
  return fmt::format("{}/{}.o", VIGIL_BPF_OBJ_DIR, stem);
}

// The test packets: crafted frames of many shapes (Ethernet with 0-2 VLAN tags, IPv4 with and
// without options, fragments, IPv6, TCP/UDP/ICMP, blocked and open ports) and mutations of them
// (flipped bytes, truncation, random tails), plus purely random frames. At least 14 bytes each:
// the kernel refuses shorter XDP test input.
std::vector<Bytes> MakePackets(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  auto rand = [&](uint32_t n) { return uint32_t(rng() % n); };
  const uint16_t ports[] = {22, 23, 53, 80, 443, 445, 5999, 6000, 6050, 6099, 6100, 8080};
  std::vector<Bytes> out;
  while (out.size() < count) {
    Bytes frame;
    const uint32_t kind = rand(10);
    if (kind == 9) {  // random bytes, sometimes with a plausible Ethernet type
      frame.resize(14 + rand(200));
      for (auto& b : frame) b = uint8_t(rng());
      if (rand(2)) {
        const uint16_t types[] = {0x0800, 0x86dd, 0x8100, 0x88a8};
        const uint16_t t = types[rand(4)];
        frame[12] = uint8_t(t >> 8);
        frame[13] = uint8_t(t);
      }
      out.push_back(std::move(frame));
      continue;
    }
    craft::FrameSpec spec;
    const bool v6 = rand(4) == 0;
    uint8_t a[16];
    for (auto& b : a) b = uint8_t(rng());
    a[0] = 10;
    a[1] = uint8_t(rand(4));  // few /24 networks on the source side, for the per-source counts
    a[2] = uint8_t(rand(8));
    uint8_t b16[16];
    for (auto& b : b16) b = uint8_t(rng());
    spec.ip.src = v6 ? base::IpAddress::V6(a) : base::IpAddress::V4(a);
    spec.ip.dst = v6 ? base::IpAddress::V6(b16) : base::IpAddress::V4(b16);
    spec.ip.ttl = uint8_t(rand(4) == 0 ? rand(3) : 64);
    const uint32_t vlans = rand(6) == 0 ? 2 : rand(3) == 0 ? 1 : 0;
    for (uint32_t i = 0; i < vlans; ++i)
      spec.ethernet->vlans.push_back(
          {.id = uint16_t(rand(4096)), .tpid = uint16_t(i == 0 && vlans == 2 ? 0x88a8 : 0x8100)});
    if (!v6 && rand(8) == 0) spec.ip.options = Bytes(4 * (1 + rand(9)), 1);
    if (!v6 && rand(10) == 0) {
      spec.ip.fragment_offset = uint16_t(8 * rand(100));
      spec.ip.more_fragments = rand(2);
    }
    const uint16_t dport = rand(3) == 0 ? uint16_t(rng()) : ports[rand(std::size(ports))];
    switch (rand(4)) {
      case 0:
      case 1: {
        const uint8_t flags[] = {packet::kTcpSyn,
                                 packet::kTcpSyn,
                                 packet::kTcpAck,
                                 packet::kTcpSyn | packet::kTcpAck,
                                 packet::kTcpPsh | packet::kTcpAck,
                                 packet::kTcpRst};
        craft::TcpHeader tcp{.src_port = uint16_t(rng()),
                             .dst_port = dport,
                             .seq = uint32_t(rng()),
                             .ack = uint32_t(rng()),
                             .flags = flags[rand(std::size(flags))]};
        const uint32_t mss = rand(4) == 0 ? 0 : 200 + rand(9000);
        if (rand(2)) tcp.options = {2, 4, uint8_t(mss >> 8), uint8_t(mss)};  // MSS option
        if (rand(8) == 0) {  // a no-operation and a window scale option
          tcp.options.resize(tcp.options.size() + 4);
          std::memcpy(tcp.options.data() + tcp.options.size() - 4, "\x01\x03\x03\x07", 4);
        }
        spec.transport = tcp;
        break;
      }
      case 2:
        spec.transport = craft::UdpHeader{.src_port = uint16_t(rng()), .dst_port = dport};
        break;
      default:
        spec.transport = craft::IcmpHeader{.type = uint8_t(v6 ? 128 : 8), .id = uint16_t(rng())};
    }
    spec.payload.resize(rand(3) == 0 ? rand(1200) : rand(64));
    for (auto& b : spec.payload) b = uint8_t(rng());
    frame = craft::BuildFrame(spec);
    // Mutations: the first 40% of crafted frames stay intact.
    const uint32_t m = rand(10);
    if (m == 5 || m == 6) {  // truncate anywhere after the Ethernet header
      frame.resize(14 + rand(uint32_t(frame.size() - 13)));
    } else if (m == 7) {  // flip a few header bytes
      for (uint32_t i = 0, n = 1 + rand(4); i < n; ++i)
        frame[rand(std::min<uint32_t>(uint32_t(frame.size()), 80))] ^= uint8_t(1 + rand(255));
    } else if (m == 8) {  // a random IPv4 header length / protocol / Ethernet type
      const size_t ip = 14 + 4 * vlans;
      if (frame.size() > ip + 10) {
        frame[ip] = uint8_t((frame[ip] & 0xf0) | rand(16));
        frame[ip + 9] = uint8_t(rand(3) == 0 ? rng() : (rand(2) ? 6 : 17));
      }
    } else if (m == 9) {
      frame[12 + 4 * vlans] ^= uint8_t(rand(2));
    }
    out.push_back(std::move(frame));
  }
  return out;
}

class KernelProgram {
 public:
  ~KernelProgram() {
    if (obj_ != nullptr) bpf_object__close(obj_);
  }
  // Loads the object into the kernel; returns an errno-style code on failure.
  int Load(const std::string& path, const std::string& function) {
    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    if (obj_ == nullptr) return -errno;
    bpf_program* prog = bpf_object__find_program_by_name(obj_, function.c_str());
    if (prog == nullptr) return -ENOENT;
    // libbpf 1.1 derives the type from the section name and knows only "xdp" and a few "xdp/..."
    // names; vigil takes any, so say it.
    bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
    if (int err = bpf_object__load(obj_); err != 0) return err;
    fd_ = bpf_program__fd(prog);
    return 0;
  }
  // Runs one packet (received on `ingress_ifindex` when not 0): the return code and the output
  // packet.
  int Run(const Bytes& in, uint32_t* retval, Bytes* out, uint32_t ingress_ifindex = 0) {
    out->assign(4096, 0);
    xdp_md ctx{};
    ctx.data_end = uint32_t(in.size());
    ctx.ingress_ifindex = ingress_ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out->data(),
                .data_size_in = uint32_t(in.size()), .data_size_out = uint32_t(out->size()),
                .ctx_in = ingress_ifindex ? &ctx : nullptr,
                .ctx_size_in = ingress_ifindex ? uint32_t(sizeof(ctx)) : 0u, .repeat = 1);
    if (int err = bpf_prog_test_run_opts(fd_, &opts); err != 0) return err;
    *retval = opts.retval;
    out->resize(opts.data_size_out);
    return 0;
  }
  // The map that holds what vigil calls `name` (global data maps are named "<object>.bss" etc.).
  bpf_map* FindMap(const std::string& name) {
    bpf_map* m;
    bpf_object__for_each_map(m, obj_) {
      const std::string kname = bpf_map__name(m);
      if (kname == name) return m;
      if (bpf_map__is_internal(m) && kname.ends_with(name)) return m;
    }
    return nullptr;
  }
  static MapContents Contents(bpf_map* m) {
    MapContents out;
    const int fd = bpf_map__fd(m);
    Bytes key(bpf_map__key_size(m)), next(key.size()), value(bpf_map__value_size(m));
    bool first = true;
    while (bpf_map_get_next_key(fd, first ? nullptr : key.data(), next.data()) == 0) {
      first = false;
      key = next;
      if (bpf_map_lookup_elem(fd, key.data(), value.data()) == 0) out[key] = value;
    }
    return out;
  }

 private:
  bpf_object* obj_ = nullptr;
  int fd_ = -1;
};

MapContents VigilContents(Map& m) {
  MapContents out;
  for (const Bytes& key : m.HostKeys()) {
    auto v = m.HostLookup(key);
    if (v) out[key] = *v;
  }
  return out;
}

std::string Hex(std::span<const uint8_t> bytes) {
  std::string s;
  for (uint8_t b : bytes) s += fmt::format("{:02x}", b);
  return s;
}

struct DiffCase {
  const char* object;
  const char* section;
  const char* function;
  size_t verdicts;  // distinct return codes the packets must provoke
  // SYN cookies differ between vigil and the kernel (each has its own secret): in XDP_TX output
  // of an Ethernet/IPv4/TCP frame, leave out the TCP sequence number and checksum.
  bool mask_cookie = false;
};

void MaskCookie(Bytes& frame) {
  constexpr size_t kTcp = 14 + 20;
  for (size_t i : {kTcp + 4, kTcp + 5, kTcp + 6, kTcp + 7, kTcp + 16, kTcp + 17})
    if (i < frame.size()) frame[i] = 0;
}

class KernelDiff : public ::testing::TestWithParam<DiffCase> {};

TEST_P(KernelDiff, SameVerdictsPacketsAndMaps) {
  const DiffCase& c = GetParam();
  KernelProgram kernel;
  if (int err = kernel.Load(ObjPath(c.object), c.function); err != 0) {
    if (err == -EPERM || err == -EACCES || err == -ENOSYS || err == -EOPNOTSUPP)
      GTEST_SKIP() << "the kernel refuses to load BPF programs here (" << std::strerror(-err)
                   << "): run as root or with CAP_BPF to compare against it";
    FAIL() << "kernel load of " << c.object << " failed: " << std::strerror(-err);
  }
  {  // Probe BPF_PROG_TEST_RUN once.
    uint32_t r;
    Bytes out;
    Bytes probe(64, 0);
    if (int err = kernel.Run(probe, &r, &out); err != 0) {
      if (err == -EPERM || err == -524 /* ENOTSUPP, kernel-internal */ || err == -EOPNOTSUPP ||
          err == -EINVAL)
        GTEST_SKIP() << "the kernel cannot test-run XDP programs here: " << std::strerror(-err);
      FAIL() << "BPF_PROG_TEST_RUN failed: " << std::strerror(-err);
    }
    // The probe ran in the kernel only: run it through vigil too, below, to keep maps equal.
  }
  auto obj = ElfObject::Open(ObjPath(c.object));
  ASSERT_TRUE(obj) << obj.error().ToString();
  auto fast = obj->Load(c.section, {.type = ProgramType::kXdp});
  ASSERT_TRUE(fast) << fast.error().ToString();
  auto interp = obj->Load(c.section, {.type = ProgramType::kXdp});
  ASSERT_TRUE(interp) << interp.error().ToString();
  auto checked = obj->Load(c.section, {.type = ProgramType::kXdp});
  ASSERT_TRUE(checked) << checked.error().ToString();
  // One load (and one set of maps) per engine: the JIT, the fast and the checked interpreter.
  Scratch fast_scratch, interp_scratch({.jit = false}), checked_scratch({.checked = true});
  XdpBuffer buf;

  std::vector<Bytes> packets = MakePackets(12000, 0x5eed + uint32_t(std::strlen(c.object)));
  packets.insert(packets.begin(), Bytes(64, 0));  // the probe
  size_t compared = 0, mismatches = 0;
  std::map<uint32_t, size_t> histogram;
  for (size_t n = 0; n < packets.size(); ++n) {
    const Bytes& p = packets[n];
    uint32_t kret = 0;
    Bytes kout;
    if (n > 0) {
      ASSERT_EQ(kernel.Run(p, &kret, &kout), 0) << "packet " << n;
    }
    for (auto* run : {&*fast, &*interp, &*checked}) {
      Scratch& scratch = run == &*fast     ? fast_scratch
                         : run == &*interp ? interp_scratch
                                           : checked_scratch;
      buf.Assign(p);
      auto v = RunXdp(*run->program, scratch, buf);
      ASSERT_TRUE(v) << "packet " << n << ": " << v.error().ToString();
      if (n == 0) continue;
      Bytes vout(buf.data().begin(), buf.data().end());
      if (c.mask_cookie && kret == kXdpTx && v->raw == kXdpTx) {
        MaskCookie(vout);
        MaskCookie(kout);
      }
      if (uint32_t(v->raw) != kret || vout != kout) {
        if (++mismatches <= 5)
          ADD_FAILURE() << c.object << " packet " << n << " (" << Hex(p) << "): vigil returned "
                        << v->raw << " and " << Hex(vout) << ", the kernel " << kret << " and "
                        << Hex(kout);
      }
    }
    if (n > 0) {
      ++compared;
      ++histogram[kret];
    }
  }
  EXPECT_EQ(mismatches, 0u);
  std::string hist;
  for (auto [action, count] : histogram) hist += fmt::format(" {}:{}", action, count);
  fmt::print("{}: {} packets compared (kernel verdicts{}), {} mismatches\n", c.object, compared,
             hist, mismatches);
  EXPECT_GE(compared, 10000u);
  // Every verdict the program can give should have been seen, or the packets are too uniform.
  EXPECT_GE(histogram.size(), c.verdicts);

  for (auto* run : {&*fast, &*interp, &*checked}) {
    for (const auto& m : run->maps) {
      bpf_map* km = kernel.FindMap(m->spec().name);
      ASSERT_NE(km, nullptr) << "no kernel map for " << m->spec().name;
      const MapContents want = KernelProgram::Contents(km);
      const MapContents got = VigilContents(*m);
      EXPECT_EQ(got.size(), want.size()) << m->spec().name;
      size_t differ = 0;
      for (const auto& [k, v] : want) {
        auto it = got.find(k);
        if (it == got.end() || it->second != v) {
          if (++differ <= 3)
            ADD_FAILURE() << m->spec().name << " key " << Hex(k) << ": kernel " << Hex(v)
                          << ", vigil " << (it == got.end() ? "absent" : Hex(it->second));
        }
      }
      EXPECT_EQ(differ, 0u) << m->spec().name;
      fmt::print("  map {}: {} entries, equal: {}\n", m->spec().name, want.size(),
                 differ == 0 && got.size() == want.size());
    }
  }
}

// vigil's own BTF reader (elf_loader.cc) against libbpf's: the same map definitions for every
// test object. Opening an object with libbpf needs no kernel, so this runs everywhere.
TEST(KernelDiffMaps, SameMapDefinitionsAsLibbpf) {
  for (const char* stem : {"parser", "counters", "rewrite", "adjust", "synproxy"}) {
    SCOPED_TRACE(stem);
    auto obj = ElfObject::Open(ObjPath(stem));
    ASSERT_TRUE(obj) << obj.error().ToString();
    bpf_object* lib = bpf_object__open_file(ObjPath(stem).c_str(), nullptr);
    ASSERT_NE(lib, nullptr);
    size_t compared = 0;
    bpf_map* m;
    bpf_object__for_each_map(m, lib) {
      const std::string name = bpf_map__name(m);
      const ElfMapDefinition* def = nullptr;
      for (const auto& d : obj->maps())
        if (d.name == name || (bpf_map__is_internal(m) && d.global_data && name.ends_with(d.name)))
          def = &d;
      ASSERT_NE(def, nullptr) << "vigil has no map for libbpf's " << name;
      EXPECT_EQ(def->spec.type, uint32_t(bpf_map__type(m))) << name;
      EXPECT_EQ(def->spec.key_size, bpf_map__key_size(m)) << name;
      EXPECT_EQ(def->spec.value_size, bpf_map__value_size(m)) << name;
      EXPECT_EQ(def->spec.max_entries, bpf_map__max_entries(m)) << name;
      if (def->global_data) {
        size_t size = 0;
        const void* init = bpf_map__initial_value(m, &size);
        ASSERT_EQ(size, def->initial_value.size()) << name;
        if (init != nullptr) {
          EXPECT_EQ(std::memcmp(init, def->initial_value.data(), size), 0) << name;
        }
      }
      ++compared;
    }
    EXPECT_EQ(compared, obj->maps().size());
    bpf_object__close(lib);
  }
}

INSTANTIATE_TEST_SUITE_P(Programs, KernelDiff,
                         ::testing::Values(DiffCase{"parser", "xdp", "parse", 2},
                                           DiffCase{"counters", "xdp", "count", 1},
                                           DiffCase{"rewrite", "xdp/reflect", "reflect", 3},
                                           DiffCase{"adjust", "xdp", "vlan", 3},
                                           DiffCase{"synproxy", "xdp", "synproxy", 3, true}),
                         [](const auto& info) { return std::string(info.param.object); });

// bpf_fib_lookup against the kernel's: in a network namespace of its own (a forked child), with
// a veth pair, addresses, neighbours and routes of every kind set up with ip(8), the corpus
// program fib_forward (tests/ebpf/verifier/pass) and fib_probe (tests/ebpf, which writes the
// helper's whole answer into the frame) run in the kernel and in vigil, whose FibTable reads the
// namespace's tables; each packet must come out the same: forwarded with rewritten addresses and
// TTL, or passed, and the same BPF_FIB_LKUP_RET code, interface, MTU, metric and next hop for
// every kind of route. Skipped without root, ip(8) or veth.
TEST(KernelDiffFib, SameAnswersAsTheKernel) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace, the kernel's verifier)";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(77);
    const char* setup =
        "ip link set lo up && ip link add v0 type veth peer name v1 && ip link set v0 up && "
        "ip link set v1 up && ip link set v0 mtu 1400 && ip addr add 10.0.0.1/24 dev v0 && "
        "ip -6 addr add fd00::1/64 dev v0 nodad && "
        "ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent && "
        "ip -6 neigh add fd00::2 lladdr 02:00:00:00:00:62 dev v0 nud permanent && "
        "ip route add 20.0.0.0/8 via 10.0.0.2 && ip route add blackhole 40.0.0.0/8 && "
        "ip route add unreachable 50.0.0.0/8 && ip route add prohibit 60.0.0.0/8 && "
        "ip -6 route add 2001:db8::/32 via fd00::2 && "
        "sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1";
    if (std::system(setup) != 0) _exit(77);
    auto table = FibTable::FromHost();
    if (!table) _exit(3);
    FibTable::SetHost(std::make_shared<const FibTable>(std::move(*table)));
    const uint32_t v1 = if_nametoindex("v1");
    auto v4 = [](const char* dst, uint8_t ttl, uint16_t tot_len) {
      Bytes f(14 + 28, 0);
      f[12] = 0x08;
      f[14] = 0x45;
      f[16] = uint8_t(tot_len >> 8);
      f[17] = uint8_t(tot_len);
      f[22] = ttl;
      f[23] = 17;
      f[26] = 10, f[27] = 9, f[28] = 9, f[29] = 9;
      inet_pton(AF_INET, dst, &f[30]);
      return f;
    };
    auto v6 = [](const char* dst, uint8_t hops, uint16_t payload) {
      Bytes f(14 + 48, 0);
      f[12] = 0x86, f[13] = 0xdd;
      f[14] = 0x60;
      f[18] = uint8_t(payload >> 8);
      f[19] = uint8_t(payload);
      f[20] = 17;
      f[21] = hops;
      inet_pton(AF_INET6, "fd00::9", &f[22]);
      inet_pton(AF_INET6, dst, &f[38]);
      return f;
    };
    const std::vector<Bytes> packets = {
        v4("20.1.2.3", 64, 28),     v4("10.0.0.2", 64, 28),   v4("10.0.0.3", 64, 28),
        v4("30.0.0.1", 64, 28),     v4("10.0.0.1", 64, 28),   v4("40.1.1.1", 64, 28),
        v4("50.1.1.1", 64, 28),     v4("60.1.1.1", 64, 28),   v4("20.1.2.3", 1, 28),
        v4("20.1.2.3", 64, 1500),   v6("2001:db8::1", 64, 8), v6("fd00::2", 64, 8),
        v6("fd00::3", 64, 8),       v6("2001:db9::1", 64, 8), v6("fd00::1", 64, 8),
        v6("2001:db8::1", 64, 1500)};
    int mismatches = 0, forwarded = 0;
    const std::pair<std::string, const char*> programs[] = {
        {std::string(VIGIL_BPF_OBJ_DIR) + "/verifier/pass/fib_forward.v1.o", "fib_forward"},
        {std::string(VIGIL_BPF_OBJ_DIR) + "/fib_probe.o", "fib_probe"}};
    for (const auto& [path, function] : programs) {
      KernelProgram kernel;
      if (kernel.Load(path, function) != 0) _exit(77);
      auto obj = ElfObject::Open(path);
      if (!obj) _exit(4);
      auto loaded = obj->Load("xdp", {.type = ProgramType::kXdp});
      if (!loaded) _exit(5);
      Scratch scratch({.checked = true});
      XdpBuffer buf;
      for (size_t n = 0; n < packets.size(); ++n) {
        uint32_t kret = 0;
        Bytes kout;
        if (kernel.Run(packets[n], &kret, &kout, v1) != 0) _exit(77);
        buf.Assign(packets[n]);
        auto v = RunXdp(*loaded->program, scratch, buf, {.ingress_ifindex = v1});
        if (!v) _exit(6);
        const Bytes vout(buf.data().begin(), buf.data().end());
        forwarded += kret == kXdpRedirect;
        if (uint32_t(v->raw) != kret || vout != kout) {
          ++mismatches;
          std::fprintf(stderr, "%s packet %zu: vigil %lu %s, kernel %u %s\n", function, n,
                       (unsigned long)v->raw, Hex(vout).c_str(), kret, Hex(kout).c_str());
        }
      }
    }
    std::printf(
        "fib lookups: %zu packets through fib_forward and fib_probe, %d forwarded by "
        "the kernel, %d mismatches\n",
        packets.size(), forwarded, mismatches);
    std::fflush(stdout);
    _exit(mismatches == 0 && forwarded >= 4 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "no network namespace, veth or ip(8) here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the mismatches above";
}

}  // namespace
}  // namespace vigil::ebpf
