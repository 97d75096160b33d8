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

struct field {
  std::string_view name;
  std::string channel_config::*member;
  bool whatsapp, twilio;  // required for that provider
};

constexpr field fields[] = {
    {"id", &channel_config::id, true, true},
    {"tenant", &channel_config::tenant, true, true},
    {"phone_number_id", &channel_config::phone_number_id, true, false},
    {"app_secret", &channel_config::app_secret, true, false},
    {"verify_token", &channel_config::verify_token, true, false},
    {"number", &channel_config::number, false, true},
    {"account_sid", &channel_config::account_sid, false, false},
    {"auth_token", &channel_config::auth_token, false, true},
};

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
    if (!v.is_string()) return channel_problem{std::string(key), "expected a string"};
    ch.*(f->member) = std::string(v.get_string());
  }
  for (const auto& f : fields) {
    bool required = wa ? f.whatsapp : f.twilio;
    if (required && (ch.*(f.member)).empty())
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
  return std::nullopt;
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
