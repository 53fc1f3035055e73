// Test support: counts C++ heap allocations (operator new) made on any thread between Start and
// Stop, to check that a hot path allocates nothing. Linking count_allocations.cc into a test binary
// replaces the global operator new / delete of that binary.
//
//   detect::testing::StartCountingAllocations();
//   RunHotPath();
//   EXPECT_EQ(detect::testing::StopCountingAllocations(), 0u);
#pragma once

#include <cstdint>

namespace vigil::detect::testing {

void StartCountingAllocations();
// The allocations since StartCountingAllocations.
[[nodiscard]] uint64_t StopCountingAllocations();

}  // namespace vigil::detect::testing
