// SMTP detection by content, as Suricata's protocol detection does it: a TCP flow is SMTP when the
// client's first bytes are a command a client opens a session with — EHLO, HELO or QUIT, in any
// case. `alert smtp` rules match on such flows only (detect::FlowContext::smtp); vigil does not
// parse SMTP further (no smtp.* buffers, no attachments for file.data).
//
//   if (first_client_bytes) flow.smtp = app::IsSmtpClientStart(data, len);
#pragma once

#include <cstddef>
#include <cstdint>

namespace vigil::app {

// True when `data` (the client's first `len` bytes of the connection) starts with EHLO, HELO or
// QUIT, in any case. False when fewer than 4 bytes are given.
[[nodiscard]] bool IsSmtpClientStart(const uint8_t* data, size_t len);

}  // namespace vigil::app
