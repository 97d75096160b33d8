// WebSocket subprotocol negotiation (RFC 6455 section 4.2.2), without I/O.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace gw::protocol {

// The agent protocol's subprotocol names, newest first. M4 defines v1's frames.
inline constexpr std::string_view agent_subprotocol_v1 = "gw.agent.v1";
inline constexpr std::string_view agent_subprotocols[] = {agent_subprotocol_v1};

// Picks the subprotocol to answer with. `offered` is the raw value of the
// client's Sec-WebSocket-Protocol header(s): comma-separated tokens with
// optional white space. The server's preference order wins over the client's.
//
// Return value: the chosen name (a view into `supported`), or nullopt when the
// client offered none we support, or offered nothing at all.
std::optional<std::string_view> negotiate_subprotocol(
    std::string_view offered, std::span<const std::string_view> supported = agent_subprotocols);

}  // namespace gw::protocol
