// The captures of the golden end-to-end cases and of `make run`'s sample, built with the
// project's own traffic builder (src/craft) so that every byte is explained by code.
//
//   tests/e2e/<case>/input.pcap   one per case, see captures.cc for what each holds
//   tests/sample/sample.pcap      the bundled sample for `make run`
//
// The committed files are the output of `make_test_captures tests/`; a test regenerates them and
// checks that they are byte-identical, so the code here and the files never drift apart.
#pragma once

#include <string>

#include "base/result.h"

namespace vigil::tests {

// Writes every capture below `tests_dir` (the repository's tests/ folder or a copy of its layout).
[[nodiscard]] base::Status WriteTestCaptures(const std::string& tests_dir);

}  // namespace vigil::tests
