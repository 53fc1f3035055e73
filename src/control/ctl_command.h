// `vigil ctl`: the control socket's client (ops.h lists the commands).
//
//   vigil ctl stats                          # every counter, as JSON
//   vigil ctl --socket /tmp/v.sock reload    # waits for the reload; says what changed
//   vigil ctl --raw '{"command":"tenants"}'  # any request object as it is
//
// Prints the answer's message (pretty JSON; a plain string as it is). Exit status: 0 when vigil
// answered "OK", 1 when it answered "NOK" (the error object goes to stderr), 2 when it could not
// be reached or did not answer.
#pragma once

namespace vigil::control {

[[nodiscard]] int RunCtlCommand(int argc, char** argv);

// The control socket's default path (Suricata keeps its socket under /run too).
inline constexpr const char* kDefaultSocket = "/run/vigil/vigil.sock";

}  // namespace vigil::control
