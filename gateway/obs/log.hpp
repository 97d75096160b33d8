// Structured logging: one JSON object per line on stderr, filtered by level.
// Any thread may log; lines are written whole with one write(2).
#pragma once

#include <boost/json/value.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace gw::log {

enum class level : int { debug = 0, info = 1, warn = 2, error = 3 };

std::optional<level> parse_level(std::string_view text) noexcept;
std::string_view name_of(level l) noexcept;

void set_level(level l) noexcept;
bool enabled(level l) noexcept;

// One key/value of a log line: strings, numbers and booleans.
struct field {
  field(std::string_view k, std::string_view v)
      : key(k), value(boost::json::string_view(v.data(), v.size())) {}
  field(std::string_view k, const char* v) : field(k, std::string_view(v)) {}
  field(std::string_view k, const std::string& v) : field(k, std::string_view(v)) {}
  template <class T>
  requires std::is_arithmetic_v<T> field(std::string_view k, T v) : key(k), value(v) {}

  std::string_view key;
  boost::json::value value;
};

// {"ts":"2026-11-22T17:30:00.123Z","level":"info","msg":"...",<fields>}
std::string format_line(level l, std::string_view msg, std::initializer_list<field> fields);

void write(level l, std::string_view msg, std::initializer_list<field> fields = {});

inline void debug(std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::debug)) write(level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::info)) write(level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::warn)) write(level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::error)) write(level::error, m, f);
}

}  // namespace gw::log
