// make_test_captures TESTS_DIR: writes the golden cases' input.pcap files and the `make run`
// sample below TESTS_DIR (normally the repository's tests/ folder).
#include <cstdio>

#include "tests/e2e/captures.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s TESTS_DIR\n", argv[0]);
    return 1;
  }
  if (auto s = vigil::tests::WriteTestCaptures(argv[1]); !s) {
    std::fprintf(stderr, "make_test_captures: %s\n", s.error().ToString().c_str());
    return 1;
  }
  return 0;
}
