// The HTTP error vocabulary shared by every route: status, stable code, JSON body.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gw::protocol {

// Every error the HTTP front door can answer with. The code string is part of
// the public API (clients switch on it); the message is for humans.
enum class http_error : std::uint8_t {
  bad_request,              // 400 malformed request line, header or body
  unsupported_subprotocol,  // 400 WebSocket upgrade without a protocol we speak
  bad_signature,            // 401 webhook signature missing or wrong
  unauthorized,             // 401 missing or wrong credentials
  forbidden,                // 403 credentials fine, action not allowed (or turned off)
  not_found,                // 404 no route for this path, or no such resource
  method_not_allowed,       // 405 route exists, method does not
  conflict,                 // 409 the resource exists already, or the change contradicts it
  request_timeout,          // 408
  payload_too_large,        // 413 body above http.max_body_bytes
  upgrade_required,         // 426 plain GET on a WebSocket-only route
  header_too_large,         // 431 header above http.max_header_bytes
  internal,                 // 500 a handler failed; details only in the log
  unavailable,              // 503 not ready, draining, or out of connections
};

std::uint16_t status_of(http_error e) noexcept;
std::string_view code_of(http_error e) noexcept;

// {"error":"<code>","message":"<message>"} with the message JSON-escaped.
std::string error_body(http_error e, std::string_view message);

}  // namespace gw::protocol
