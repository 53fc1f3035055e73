// Cache prefetch hints that the compiler cannot delete.
//
//   base::PrefetchRead(&bucket);          // will be read soon
//   base::PrefetchWrite(block + used);    // will be written soon
//
// Why not __builtin_prefetch alone: GCC's pure/const analysis does not count a prefetch as a side
// effect, so a function that does nothing but prefetch (and read memory to find the address) is
// classified "pure", and a call to it whose result is unused is deleted as dead code. With GCC 12
// this removed FlowTable::PrefetchFlow from FindOrCreateBatch's flow stage and
// TcpReassembler::PrefetchState from flow_bench's pipeline, which then ran at half speed. The
// empty volatile asm naming the address is a side effect the analysis respects; it emits no
// instruction.
#pragma once

namespace vigil::base {

[[gnu::always_inline]] inline void PrefetchRead(const void* p) {
  __builtin_prefetch(p, 0, 3);
  asm volatile("" : : "r"(p));
}

[[gnu::always_inline]] inline void PrefetchWrite(const void* p) {
  __builtin_prefetch(p, 1, 3);
  asm volatile("" : : "r"(p));
}

}  // namespace vigil::base
