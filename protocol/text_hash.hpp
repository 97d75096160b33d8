// Hash tables keyed by std::string and searched with a std::string_view,
// without building a std::string for each lookup (C++20 heterogeneous
// lookup: a transparent hasher and std::equal_to<>).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace gw::protocol {

struct text_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

template <class Value>
using text_map = std::unordered_map<std::string, Value, text_hash, std::equal_to<>>;
using text_set = std::unordered_set<std::string, text_hash, std::equal_to<>>;

}  // namespace gw::protocol
