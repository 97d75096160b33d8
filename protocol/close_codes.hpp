// WebSocket close codes the gateway sends, with their meaning for clients.
#pragma once

#include <cstdint>

namespace gw::protocol {

enum class close_code : std::uint16_t {
  normal = 1000,         // orderly close requested by either side
  going_away = 1001,     // the gateway is shutting down; reconnect elsewhere or later
  unsupported = 1003,    // a binary frame; the protocol is text-only
  too_big = 1009,        // a frame above ws.max_frame_bytes
  slow_consumer = 4001,  // the client read too slowly and its outbound budget ran out;
                         // reconnect and resume from the last offset seen
  auth_timeout = 4002,   // no valid token within ws.auth_timeout_ms
  bad_token = 4003,      // the token is wrong or revoked
  token_revoked = 4004,  // the session's token was revoked while it was open
};

}  // namespace gw::protocol
