// Channel declarations: required fields per provider, identifier alphabets,
// unique ids and numbers.
#include "gateway/config/channels.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "gateway/config/config.hpp"

namespace gw {

namespace {

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-')
      return false;
  return true;
}

bool is_e164(std::string_view s) {
  if (s.starts_with("whatsapp:")) s.remove_prefix(9);
  if (s.size() < 3 || s.size() > 16 || s.front() != '+' || s[1] == '0') return false;
  for (char ch : s.substr(1))
    if (ch < '0' || ch > '9') return false;
  return true;
}

// Every field of a channel object, once: how it is read and written, which
// provider requires or accepts it, and whether it is a secret.
struct field {
  std::string_view name;
  std::string channel_config::*text = nullptr;  // a string field...
  unsigned channel_config::*count = nullptr;    // ...or a non-negative integer
  bool whatsapp_required, twilio_required;
  bool whatsapp_only, twilio_only;
  bool secret;
  unsigned max = 0;                                          // counts: largest accepted value
  std::vector<std::string> channel_config::*list = nullptr;  // ...or a list of strings
};

constexpr field fields[] = {
    {"id", &channel_config::id, nullptr, true, true, false, false, false},
    {"tenant", &channel_config::tenant, nullptr, true, true, false, false, false},
    {"phone_number_id", &channel_config::phone_number_id, nullptr, true, false, true, false, false},
    {"app_secret", &channel_config::app_secret, nullptr, true, false, true, false, true},
    {"verify_token", &channel_config::verify_token, nullptr, true, false, true, false, true},
    {"number", &channel_config::number, nullptr, false, true, false, true, false},
    {"account_sid", &channel_config::account_sid, nullptr, false, false, false, true, false},
    {"auth_token", &channel_config::auth_token, nullptr, false, true, false, true, true},
    {"api_base_url", &channel_config::api_base_url, nullptr, false, false, false, false, false},
    {"api_version", &channel_config::api_version, nullptr, false, false, true, false, false},
    {"access_token", &channel_config::access_token, nullptr, false, false, true, false, true},
    {"messages_per_second", nullptr, &channel_config::messages_per_second, false, false, false,
     false, false, 100'000},
    {"pair_interval_ms", nullptr, &channel_config::pair_interval_ms, false, false, true, false,
     false, 3'600'000},
    {"pair_burst", nullptr, &channel_config::pair_burst, false, false, true, false, false, 1000},
    {"max_segments", nullptr, &channel_config::max_segments, false, false, false, true, false, 100},
    {"cost_per_segment", nullptr, &channel_config::cost_per_segment, false, false, false, true,
     false, 1'000'000},
    {"cost_per_template", nullptr, &channel_config::cost_per_template, false, false, true, false,
     false, 1'000'000},
    {"cost_per_message", nullptr, &channel_config::cost_per_message, false, false, true, false,
     false, 1'000'000},
    {"low_balance", nullptr, &channel_config::low_balance, false, false, false, false, false,
     1'000'000'000},
    {"templates", nullptr, nullptr, false, false, false, false, false, 0,
     &channel_config::templates},
};

// "name:language": a WhatsApp template's name and language code (or a
// Twilio ContentSid and language), both of letters, digits and '_'.
bool is_template_name(std::string_view s) {
  auto colon = s.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == s.size() || s.size() > 200)
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || (ch == ':' && i == colon);
    if (!ok) return false;
  }
  return true;
}

bool is_http_url(std::string_view s) {
  if (s.starts_with("https://"))
    s.remove_prefix(8);
  else if (s.starts_with("http://"))
    s.remove_prefix(7);
  else
    return false;
  return !s.empty() && s.front() != '/' && s.find_first_of("?#@ ") == std::string_view::npos;
}

}  // namespace

std::string_view provider_name(provider_kind p) noexcept {
  return p == provider_kind::whatsapp ? "whatsapp" : "twilio";
}

std::optional<channel_problem> read_channel(const boost::json::object& obj, channel_config& ch) {
  const auto* provider = obj.if_contains("provider");
  if (!provider || !provider->is_string())
    return channel_problem{"provider", "must be \"whatsapp\" or \"twilio\""};
  if (provider->get_string() == "whatsapp")
    ch.provider = provider_kind::whatsapp;
  else if (provider->get_string() == "twilio")
    ch.provider = provider_kind::twilio;
  else
    return channel_problem{"provider", "must be \"whatsapp\" or \"twilio\", got \"" +
                                           std::string(provider->get_string()) + "\""};
  const bool wa = ch.provider == provider_kind::whatsapp;
  for (const auto& [key, v] : obj) {
    if (key == "provider") continue;
    const field* f = nullptr;
    for (const auto& candidate : fields)
      if (candidate.name == key) f = &candidate;
    if (!f) return channel_problem{std::string(key), "unknown field"};
    if ((wa && f->twilio_only) || (!wa && f->whatsapp_only))
      return channel_problem{std::string(key), std::string("not a field of a ") +
                                                   (wa ? "whatsapp" : "twilio") + " channel"};
    if (f->text) {
      if (!v.is_string()) return channel_problem{std::string(key), "expected a string"};
      ch.*(f->text) = std::string(v.get_string());
    } else if (f->list) {
      if (!v.is_array()) return channel_problem{std::string(key), "expected an array of strings"};
      auto& out = ch.*(f->list);
      out.clear();
      for (const auto& item : v.get_array()) {
        auto* text = item.if_string();
        if (!text || !is_template_name(*text))
          return channel_problem{std::string(key),
                                 "each template is \"name:language\" (letters, digits, '_'), got " +
                                     boost::json::serialize(item)};
        out.emplace_back(*text);
      }
    } else {
      std::int64_t n = v.is_int64()                                ? v.get_int64()
                       : v.is_uint64() && v.get_uint64() <= f->max ? std::int64_t(v.get_uint64())
                                                                   : -1;
      if (n < 1 || n > f->max)
        return channel_problem{std::string(key),
                               "expected an integer from 1 to " + std::to_string(f->max)};
      ch.*(f->count) = static_cast<unsigned>(n);
    }
  }
  for (const auto& f : fields) {
    bool required = wa ? f.whatsapp_required : f.twilio_required;
    if (required && (ch.*(f.text)).empty())
      return channel_problem{std::string(f.name), std::string("required for a ") +
                                                      (wa ? "whatsapp" : "twilio") + " channel"};
  }
  if (!is_identifier(ch.id))
    return channel_problem{"id",
                           "must be 1-64 letters, digits, '.', '_' or '-', got \"" + ch.id + "\""};
  if (!is_identifier(ch.tenant))
    return channel_problem{
        "tenant", "must be 1-64 letters, digits, '.', '_' or '-', got \"" + ch.tenant + "\""};
  if (!wa && !is_e164(ch.number))
    return channel_problem{
        "number", "must be E.164 (\"+15550001111\", optionally \"whatsapp:\"-prefixed), got \"" +
                      ch.number + "\""};
  if (!ch.api_base_url.empty() && !is_http_url(ch.api_base_url))
    return channel_problem{"api_base_url",
                           "must be http(s)://host[:port][/path], got \"" + ch.api_base_url + "\""};
  return std::nullopt;
}

void write_channel(const channel_config& ch, boost::json::object& out, bool secrets) {
  out["provider"] = provider_name(ch.provider);
  boost::json::array secret_names;
  for (const auto& f : fields) {
    if (f.text) {
      const auto& v = ch.*(f.text);
      if (v.empty()) continue;
      if (f.secret && !secrets)
        secret_names.emplace_back(f.name);
      else
        out[f.name] = v;
    } else if (f.list) {
      const auto& items = ch.*(f.list);
      if (!items.empty()) out[f.name] = boost::json::array(items.begin(), items.end());
    } else if (auto n = ch.*(f.count); n != 0) {
      out[f.name] = static_cast<std::int64_t>(n);
    }
  }
  if (!secrets) out["secrets"] = std::move(secret_names);
}

std::string_view default_api_base_url(provider_kind p) noexcept {
  return p == provider_kind::whatsapp ? "https://graph.facebook.com" : "https://api.twilio.com";
}

unsigned default_messages_per_second(provider_kind p) noexcept {
  return p == provider_kind::whatsapp ? 80 : 10;
}

std::string_view channel_number(const channel_config& ch) noexcept {
  return ch.provider == provider_kind::whatsapp ? ch.phone_number_id : ch.number;
}

void load_channels(config& c, const boost::json::value& value, const std::string& source) {
  auto fail = [&](const std::string& where, const std::string& problem) {
    throw config_error(where + " (" + source + "): " + problem);
  };
  if (!value.is_array()) fail("channels", "expected an array of channel objects");
  std::vector<channel_config> out;
  std::set<std::string> ids, numbers;
  std::size_t i = 0;
  for (const auto& item : value.get_array()) {
    const std::string at = "channels[" + std::to_string(i++) + "]";
    if (!item.is_object()) fail(at, "expected an object");
    channel_config ch;
    if (auto problem = read_channel(item.get_object(), ch))
      fail(at + "." + problem->field, problem->message);
    if (!ids.insert(ch.id).second) fail(at + ".id", "\"" + ch.id + "\" is declared twice");
    auto number = std::string(channel_number(ch));
    if (!numbers.insert(number).second)
      fail(at, "number \"" + number + "\" belongs to another channel already");
    out.push_back(std::move(ch));
  }
  c.channels = std::move(out);
}

void load_agents(config& c, const boost::json::value& value, const std::string& source) {
  auto fail = [&](const std::string& where, const std::string& problem) {
    throw config_error(where + " (" + source + "): " + problem);
  };
  if (!value.is_array()) fail("agents", "expected an array of agent objects");
  std::vector<agent_config> out;
  std::set<std::string> keys, tokens;
  std::size_t i = 0;
  for (const auto& item : value.get_array()) {
    const std::string at = "agents[" + std::to_string(i++) + "]";
    if (!item.is_object()) fail(at, "expected an object");
    agent_config a;
    for (const auto& [key, v] : item.get_object()) {
      const std::string where = at + "." + std::string(key);
      if (key == "channels") {
        if (!v.is_array()) fail(where, "expected an array of channel ids");
        for (const auto& ch : v.get_array()) {
          if (!ch.is_string()) fail(where, "expected channel ids (strings)");
          a.channels.emplace_back(ch.get_string());
        }
        continue;
      }
      std::string* member = key == "tenant"  ? &a.tenant
                            : key == "id"    ? &a.id
                            : key == "name"  ? &a.name
                            : key == "role"  ? &a.role
                            : key == "token" ? &a.token
                                             : nullptr;
      if (!member) fail(where, "unknown field");
      if (!v.is_string()) fail(where, "expected a string");
      *member = std::string(v.get_string());
    }
    if (!is_identifier(a.tenant))
      fail(at + ".tenant", "required: 1-64 letters, digits, '.', '_' or '-'");
    if (!is_identifier(a.id)) fail(at + ".id", "required: 1-64 letters, digits, '.', '_' or '-'");
    if (a.name.empty()) a.name = a.id;
    if (a.role != "agent" && a.role != "admin")
      fail(at + ".role", "must be \"agent\" or \"admin\", got \"" + a.role + "\"");
    if (a.token.size() < 16 || a.token.size() > 256)
      fail(at + ".token", "required: a secret of 16 to 256 bytes");
    if (!tokens.insert(a.token).second) fail(at + ".token", "another agent has this token");
    if (!keys.insert(a.tenant + "/" + a.id).second)
      fail(at + ".id", "\"" + a.id + "\" is declared twice in tenant \"" + a.tenant + "\"");
    out.push_back(std::move(a));
  }
  c.agents = std::move(out);
}

void check_agent_channels(const config& c, const std::string& source) {
  for (std::size_t i = 0; i < c.agents.size(); ++i)
    for (const auto& ch : c.agents[i].channels) {
      auto it = std::find_if(c.channels.begin(), c.channels.end(),
                             [&](const channel_config& d) { return d.id == ch; });
      if (it == c.channels.end() || it->tenant != c.agents[i].tenant)
        throw config_error("agents[" + std::to_string(i) + "].channels (" + source + "): \"" + ch +
                           "\" is not a channel of tenant \"" + c.agents[i].tenant + "\"");
    }
}

}  // namespace gw
