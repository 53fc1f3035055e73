#include "detect/count_allocations.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> counting{false};
std::atomic<uint64_t> allocations{0};
}  // namespace

void* operator new(size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace vigil::detect::testing {

void StartCountingAllocations() {
  allocations = 0;
  counting = true;
}

uint64_t StopCountingAllocations() {
  counting = false;
  return allocations.load();
}

}  // namespace vigil::detect::testing
