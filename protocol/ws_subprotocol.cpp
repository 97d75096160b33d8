// Subprotocol token parsing and selection.
#include "protocol/ws_subprotocol.hpp"

namespace gw::protocol {

namespace {
constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool offers(std::string_view offered, std::string_view name) noexcept {
  while (!offered.empty()) {
    auto comma = offered.find(',');
    auto token = trim(offered.substr(0, comma));
    if (token == name) return true;  // tokens are case-sensitive (RFC 6455 11.5)
    if (comma == std::string_view::npos) break;
    offered.remove_prefix(comma + 1);
  }
  return false;
}
}  // namespace

std::optional<std::string_view> negotiate_subprotocol(std::string_view offered,
                                                      std::span<const std::string_view> supported) {
  for (auto name : supported)
    if (offers(offered, name)) return name;
  return std::nullopt;
}

}  // namespace gw::protocol
