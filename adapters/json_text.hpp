// Reading a string member of a provider's JSON answer (adapters only).
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

namespace gw::adapters {

// The member `key` of `o` if it is a string, else "".
inline std::string text_at(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  auto* s = v ? v->if_string() : nullptr;
  return s ? std::string(*s) : std::string{};
}

}  // namespace gw::adapters
