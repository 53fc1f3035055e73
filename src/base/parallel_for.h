// ParallelFor: runs body(i) for every i in [0, n) on up to `threads` threads (0: one per core),
// the calling thread among them, handing out indexes in chunks. For the build side — compiling
// rules, loading rule files — where each index is independent; body must not throw.
//
//   base::ParallelFor(rules.size(), 0, [&](size_t i) { Compile(rules[i]); });
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace vigil::base {

template <class F>
void ParallelFor(size_t n, unsigned threads, F&& body, size_t chunk = 16) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = unsigned(std::min<size_t>(threads, (n + chunk - 1) / std::max<size_t>(chunk, 1)));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t begin; (begin = next.fetch_add(chunk)) < n;) {
      for (size_t i = begin; i < std::min(n, begin + chunk); ++i) body(i);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

}  // namespace vigil::base
