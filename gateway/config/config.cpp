// Loading the configuration: defaults, then the JSON file, then GATEWAY_*
// variables, then flags. The first bad or unknown setting stops the load.
#include "gateway/config/config.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "gateway/config/channels.hpp"
#include "gateway/config/settings.hpp"
#include "gateway/runtime/cpus.hpp"

namespace gw {

namespace {

[[noreturn]] void fail(std::string_view name, const std::string& source, std::string_view problem) {
  throw config_error(std::string(name) + " (" + source + "): " + std::string(problem));
}

std::string json_type_name(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "an integer";
    case boost::json::kind::double_:
      return "a number with a fraction";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

void apply_json(config& c, const boost::json::object& obj, const std::string& prefix,
                const std::string& source) {
  for (const auto& [key, value] : obj) {
    std::string name = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
    if (name == "channels") {
      load_channels(c, value, source);
      continue;
    }
    if (name == "agents") {
      load_agents(c, value, source);
      continue;
    }
    const setting* s = find_setting(name);
    if (!s) {
      if (value.is_object()) {  // a section such as "http": descend
        bool is_section = false;
        for (const auto& t : settings())
          if (t.name.starts_with(name + ".")) is_section = true;
        if (is_section) {
          apply_json(c, value.get_object(), name, source);
          continue;
        }
      }
      fail(name, source, "unknown setting");
    }
    std::string err;
    if (s->type == setting_type::integer) {
      if (value.is_int64() || value.is_uint64()) {
        err = apply_text(*s, c, boost::json::serialize(value));
      } else {
        err = "expected an integer, got " + json_type_name(value);
      }
    } else if (value.is_string()) {
      const auto& str = value.get_string();
      err = apply_text(*s, c, std::string_view(str.data(), str.size()));
    } else {
      err = "expected a string, got " + json_type_name(value);
    }
    if (!err.empty()) fail(name, source, err);
  }
}

void load_file(config& c, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error("config file " + path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(text.str(), ec);
  if (ec) throw config_error("config file " + path + ": not valid JSON: " + ec.message());
  if (!root.is_object()) throw config_error("config file " + path + ": must be a JSON object");
  apply_json(c, root.get_object(), "", "config file " + path);
}

void load_environment(config& c, char** environ) {
  if (!environ) return;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with("GATEWAY_")) continue;
    auto eq = entry.find('=');
    auto var = entry.substr(0, eq);
    auto text = eq == std::string_view::npos ? std::string_view{} : entry.substr(eq + 1);
    const setting* match = nullptr;
    for (const auto& s : settings())
      if (env_name(s.name) == var) match = &s;
    if (!match)
      throw config_error(std::string(var) + " (environment): unknown setting; see gateway --help");
    if (auto err = apply_text(*match, c, text); !err.empty())
      fail(match->name, "environment " + std::string(var), err);
  }
}

void check_readable(std::string_view name, const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(name, "check", "cannot read \"" + path + "\"");
}

}  // namespace

unsigned config::effective_threads() const noexcept {
  if (threads != 0) return threads;
  // One per CPU the process may run on: under a cpuset or taskset that is
  // fewer than the machine has, and more shards would only take turns.
  if (auto cpus = runtime::allowed_cpus(); !cpus.empty()) return static_cast<unsigned>(cpus.size());
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

config load_config(const std::string& config_file, char** environ, const flag_settings& flags) {
  config c;
  if (!config_file.empty()) {
    load_file(c, config_file);
    check_agent_channels(c, config_file);
  }
  load_environment(c, environ);
  for (const auto& [name, text] : flags) {
    const setting* s = find_setting(name);
    if (!s) fail(name, "flag", "unknown setting");
    if (auto err = apply_text(*s, c, text); !err.empty()) fail(name, "flag", err);
  }
  if (c.tls.cert_file.empty() != c.tls.key_file.empty())
    fail("tls", "check", "tls.cert_file and tls.key_file must be set together");
  if (c.tls.enabled()) {
    check_readable("tls.cert_file", c.tls.cert_file);
    check_readable("tls.key_file", c.tls.key_file);
  }
  if (c.data_dir.empty()) fail("data_dir", "check", "must not be empty");
  return c;
}

}  // namespace gw
