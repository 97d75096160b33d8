// One agent WebSocket session: subprotocol answer, ping/pong and idle
// timeout, a bounded outbound queue with a single write loop, orderly close.
#pragma once

#include <string_view>

#include "gateway/net/context.hpp"
#include "gateway/net/streams.hpp"
#include "gateway/runtime/shards.hpp"

namespace gw::net {

// Accepts the upgrade `req` on `stream` (already read by the HTTP session)
// answering with `subprotocol`, then serves the session on `home`. Call on
// home's thread. Instantiated for plain_stream and tls_stream.
template <class Stream>
void start_ws_session(Stream&& stream, request req, std::string_view subprotocol,
                      server_context& ctx, runtime::shard& home, connection_slot slot);

}  // namespace gw::net
