// Fuzz target: agent frame decoding; accepted commands carry a valid id.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/agent_frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = gw::protocol::decode_command({reinterpret_cast<const char*>(data), size});
  if (auto* c = std::get_if<gw::protocol::command>(&r))
    if (c->id.empty() || c->id.size() > gw::protocol::max_command_id_bytes) std::abort();
  return 0;
}
