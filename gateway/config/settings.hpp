// The table of every setting: name, type, range, default and meaning. The one
// place where a setting is declared; parsing, validation, --help and the
// README's reference all follow it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace gw {

struct config;

enum class setting_type : std::uint8_t { integer, string, choice };

struct setting {
  std::string_view name;  // dotted path in the JSON file, e.g. "http.max_body_bytes"
  setting_type type;
  std::int64_t min = 0;  // integer: inclusive range
  std::int64_t max = 0;
  std::string_view choices;       // choice: '|'-separated allowed values
  std::string_view default_text;  // as shown to humans
  std::string_view help;
  // Stores a validated integer; returns an error text or "" (for cross checks
  // such as a port number). Null for non-integers.
  std::string (*set_int)(config&, std::int64_t) = nullptr;
  // Stores a string or choice value; returns an error text or "".
  std::string (*set_str)(config&, std::string_view) = nullptr;
};

std::span<const setting> settings();
const setting* find_setting(std::string_view name);

// "GATEWAY_HTTP_MAX_BODY_BYTES" for "http.max_body_bytes".
std::string env_name(std::string_view setting_name);

// Parses and range-checks a textual value (from the environment or a flag)
// and stores it. Returns an error text or "".
std::string apply_text(const setting& s, config& c, std::string_view text);

// A human-readable table of all settings, for --help.
std::string describe_settings();

}  // namespace gw
