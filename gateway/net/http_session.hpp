// One HTTP/1.1 connection, plain or TLS: keep-alive, limits and timeouts,
// routing, and the hand-over to a WebSocket session on upgrade.
#pragma once

#include "gateway/net/context.hpp"
#include "gateway/net/streams.hpp"
#include "gateway/runtime/shards.hpp"

namespace gw::net {

// Starts serving `socket` on `home` (call on home's thread). The session
// keeps itself alive until the connection ends.
void start_http_session(tcp_socket socket, server_context& ctx, runtime::shard& home,
                        connection_slot slot);

}  // namespace gw::net
