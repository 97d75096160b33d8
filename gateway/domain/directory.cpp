// Directory records: JSON codec of changes, checks, apply.
#include "gateway/domain/directory.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "gateway/config/channels.hpp"

namespace gw::domain {

namespace json = boost::json;

std::string_view name_of(agent_role r) noexcept {
  return r == agent_role::admin ? "admin" : "agent";
}

bool agent_record::may_use(std::string_view channel) const {
  return channels.empty() || std::find(channels.begin(), channels.end(), channel) != channels.end();
}

bool valid_directory_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

namespace {

constexpr std::string_view op_names[] = {"tenant",       "agent",   "team",           "token.issue",
                                         "token.revoke", "channel", "channel.delete", "contact"};

std::string key_of(std::string_view tenant, std::string_view id) {
  std::string k(tenant);
  k += '/';
  k += id;
  return k;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// Readers for decode: a missing or mistyped field makes the record invalid.
struct reader {
  const json::object& o;
  bool ok = true;
  // The field `k` if it is there with the type `is` checks, else null.
  const json::value* need(std::string_view k, bool (json::value::*is)() const noexcept) {
    auto* v = o.if_contains(k);
    if (v && (v->*is)()) return v;
    ok = false;
    return nullptr;
  }
  std::string str(std::string_view k) {
    auto* v = need(k, &json::value::is_string);
    return v ? std::string(v->get_string()) : std::string();
  }
  bool boolean(std::string_view k) {
    auto* v = need(k, &json::value::is_bool);
    return v && v->get_bool();
  }
  std::int64_t integer(std::string_view k) {
    auto* v = need(k, &json::value::is_int64);
    return v ? v->get_int64() : 0;
  }
  std::vector<std::string> list(std::string_view k) {
    std::vector<std::string> out;
    auto* v = need(k, &json::value::is_array);
    if (!v) return out;
    for (const auto& e : v->get_array()) {
      if (!e.is_string()) {
        ok = false;
        return out;
      }
      out.emplace_back(e.get_string());
    }
    return out;
  }
};

}  // namespace

std::string encode(const directory_change& c) {
  json::object o;
  o["op"] = op_names[static_cast<std::size_t>(c.what)];
  switch (c.what) {
    case directory_change::kind::put_tenant:
      o["id"] = c.tenant.id;
      o["name"] = c.tenant.name;
      o["segmented"] = c.tenant.segmented;
      if (c.tenant.messages_per_second) o["messages_per_second"] = c.tenant.messages_per_second;
      break;
    case directory_change::kind::put_agent:
      o["tenant"] = c.agent.tenant;
      o["id"] = c.agent.id;
      o["name"] = c.agent.name;
      o["role"] = name_of(c.agent.role);
      o["channels"] = strings(c.agent.channels);
      break;
    case directory_change::kind::put_team:
      o["tenant"] = c.team.tenant;
      o["id"] = c.team.id;
      o["name"] = c.team.name;
      o["members"] = strings(c.team.members);
      break;
    case directory_change::kind::issue_token:
      o["id"] = c.token.id;
      o["tenant"] = c.token.tenant;
      o["agent"] = c.token.agent;
      o["hash"] = c.token.hash;
      o["created_ms"] = c.token.created_ms;
      break;
    case directory_change::kind::revoke_token:
      o["id"] = c.token.id;
      break;
    case directory_change::kind::put_channel: {
      write_channel(*c.channel, o, true);
      break;
    }
    case directory_change::kind::delete_channel:
      o["tenant"] = c.channel->tenant;
      o["id"] = c.channel->id;
      break;
    case directory_change::kind::put_contact:
      o["tenant"] = c.contact.tenant;
      o["channel"] = c.contact.channel;
      o["address"] = c.contact.address;
      o["auto_locked"] = c.contact.auto_locked;
      break;
  }
  return json::serialize(o);
}

std::optional<directory_change> decode_directory_change(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  reader r{v.get_object()};
  auto op = r.str("op");
  auto it = std::find(std::begin(op_names), std::end(op_names), op);
  if (!r.ok || it == std::end(op_names)) return std::nullopt;
  directory_change c;
  c.what = static_cast<directory_change::kind>(it - std::begin(op_names));
  switch (c.what) {
    case directory_change::kind::put_tenant:
      c.tenant = {r.str("id"), r.str("name"), r.boolean("segmented"), 0};
      if (r.o.contains("messages_per_second")) {  // absent in records before it existed
        auto rate = r.integer("messages_per_second");
        if (rate < 1 || rate > 100'000) return std::nullopt;
        c.tenant.messages_per_second = static_cast<unsigned>(rate);
      }
      break;
    case directory_change::kind::put_agent: {
      auto role = r.str("role");
      c.agent = {r.str("tenant"), r.str("id"), r.str("name"),
                 role == "admin" ? agent_role::admin : agent_role::agent, r.list("channels")};
      if (role != "admin" && role != "agent") return std::nullopt;
      break;
    }
    case directory_change::kind::put_team:
      c.team = {r.str("tenant"), r.str("id"), r.str("name"), r.list("members")};
      break;
    case directory_change::kind::issue_token:
      c.token = {r.str("id"),   r.str("tenant"),         r.str("agent"),
                 r.str("hash"), r.integer("created_ms"), false};
      break;
    case directory_change::kind::revoke_token:
      c.token.id = r.str("id");
      break;
    case directory_change::kind::put_channel: {
      // The same reader as the config file's: a journal that passes its CRC
      // but holds an invalid channel is refused, not guessed at.
      json::object fields = r.o;
      fields.erase("op");
      auto ch = std::make_shared<channel_config>();
      if (read_channel(fields, *ch)) return std::nullopt;
      c.channel = std::move(ch);
      break;
    }
    case directory_change::kind::delete_channel: {
      auto ch = std::make_shared<channel_config>();
      ch->tenant = r.str("tenant");
      ch->id = r.str("id");
      c.channel = std::move(ch);
      break;
    }
    case directory_change::kind::put_contact:
      c.contact = {r.str("tenant"), r.str("channel"), r.str("address"), r.boolean("auto_locked")};
      break;
  }
  if (!r.ok) return std::nullopt;
  return c;
}

const tenant_record* directory_state::tenant(std::string_view id) const {
  auto it = tenants.find(std::string(id));
  return it == tenants.end() ? nullptr : &it->second;
}
const agent_record* directory_state::agent(std::string_view t, std::string_view id) const {
  auto it = agents.find(key_of(t, id));
  return it == agents.end() ? nullptr : &it->second;
}
const team_record* directory_state::team(std::string_view t, std::string_view id) const {
  auto it = teams.find(key_of(t, id));
  return it == teams.end() ? nullptr : &it->second;
}
const token_record* directory_state::token(std::string_view id) const {
  auto it = tokens.find(std::string(id));
  return it == tokens.end() ? nullptr : &it->second;
}
const token_record* directory_state::live_token_by_hash(std::string_view hash) const {
  auto it = token_by_hash.find(std::string(hash));
  if (it == token_by_hash.end()) return nullptr;
  auto* t = token(it->second);
  return t && !t->revoked ? t : nullptr;
}
channel_ptr directory_state::channel(std::string_view id) const {
  auto it = channels.find(std::string(id));
  return it == channels.end() ? nullptr : it->second;
}
channel_ptr directory_state::channel_by(std::string_view number) const {
  auto it = channel_by_number.find(std::string(number));
  return it == channel_by_number.end() ? nullptr : channel(it->second);
}
bool directory_state::auto_locked(std::string_view t, std::string_view ch,
                                  std::string_view address) const {
  std::string key;
  key.append(t).append("/").append(ch).append("/").append(address);
  return locked_contacts.contains(key);
}
std::vector<std::string> directory_state::teams_of(std::string_view t, std::string_view a) const {
  std::vector<std::string> out;
  for (auto it = teams.lower_bound(key_of(t, "")); it != teams.end() && it->second.tenant == t;
       ++it)
    if (std::find(it->second.members.begin(), it->second.members.end(), a) !=
        it->second.members.end())
      out.push_back(it->second.id);
  return out;
}

std::optional<std::string> check(const directory_state& s, const directory_change& c) {
  auto need_tenant = [&](const std::string& t) -> std::optional<std::string> {
    if (!s.tenant(t)) return "no tenant \"" + t + "\"";
    return std::nullopt;
  };
  switch (c.what) {
    case directory_change::kind::put_tenant:
      return std::nullopt;
    case directory_change::kind::put_agent:
      // Automatic messages (clinic systems) are authored "auto", and their
      // idempotency keys live under that name.
      if (c.agent.id == "auto") return std::string("the agent id \"auto\" is reserved");
      return need_tenant(c.agent.tenant);
    case directory_change::kind::put_team:
      if (auto e = need_tenant(c.team.tenant)) return e;
      for (const auto& m : c.team.members)
        if (!s.agent(c.team.tenant, m))
          return "member \"" + m + "\" is not an agent of tenant \"" + c.team.tenant + "\"";
      return std::nullopt;
    case directory_change::kind::issue_token:
      if (!s.agent(c.token.tenant, c.token.agent))
        return "no agent \"" + c.token.agent + "\" in tenant \"" + c.token.tenant + "\"";
      if (s.token(c.token.id) || s.token_by_hash.contains(c.token.hash))
        return "token id or secret already in use";
      return std::nullopt;
    case directory_change::kind::revoke_token:
      if (!s.token(c.token.id)) return "no token \"" + c.token.id + "\"";
      return std::nullopt;
    case directory_change::kind::put_channel: {
      const auto& ch = *c.channel;
      if (auto e = need_tenant(ch.tenant)) return e;
      auto current = s.channel(ch.id);
      if (current && current->tenant != ch.tenant)
        return "channel id \"" + ch.id + "\" belongs to another tenant";
      if (current && current->provider != ch.provider)
        return "channel \"" + ch.id + "\" is a " + std::string(provider_name(current->provider)) +
               " channel; delete it to change its provider";
      auto owner = s.channel_by(channel_number(ch));
      if (owner && owner->id != ch.id)
        return "number \"" + std::string(channel_number(ch)) + "\" belongs to channel \"" +
               owner->id + "\"";
      return std::nullopt;
    }
    case directory_change::kind::delete_channel: {
      auto current = s.channel(c.channel->id);
      if (!current || current->tenant != c.channel->tenant)
        return "no channel \"" + c.channel->id + "\" in tenant \"" + c.channel->tenant + "\"";
      return std::nullopt;
    }
    case directory_change::kind::put_contact: {
      auto current = s.channel(c.contact.channel);
      if (!current || current->tenant != c.contact.tenant)
        return "no channel \"" + c.contact.channel + "\" in tenant \"" + c.contact.tenant + "\"";
      return std::nullopt;
    }
  }
  return std::nullopt;
}

void apply(directory_state& s, const directory_change& c) {
  switch (c.what) {
    case directory_change::kind::put_tenant:
      s.tenants[c.tenant.id] = c.tenant;
      return;
    case directory_change::kind::put_agent:
      s.agents[key_of(c.agent.tenant, c.agent.id)] = c.agent;
      return;
    case directory_change::kind::put_team:
      s.teams[key_of(c.team.tenant, c.team.id)] = c.team;
      return;
    case directory_change::kind::issue_token:
      s.tokens[c.token.id] = c.token;
      s.token_by_hash[c.token.hash] = c.token.id;
      return;
    case directory_change::kind::revoke_token:
      if (auto it = s.tokens.find(c.token.id); it != s.tokens.end()) it->second.revoked = true;
      return;
    case directory_change::kind::put_channel:
    case directory_change::kind::delete_channel: {
      if (auto old = s.channel(c.channel->id))
        s.channel_by_number.erase(std::string(channel_number(*old)));
      if (c.what == directory_change::kind::delete_channel) {
        s.channels.erase(c.channel->id);
        return;
      }
      s.channels[c.channel->id] = c.channel;
      s.channel_by_number[std::string(channel_number(*c.channel))] = c.channel->id;
      return;
    }
    case directory_change::kind::put_contact: {
      auto key = c.contact.tenant + "/" + c.contact.channel + "/" + c.contact.address;
      if (c.contact.auto_locked)
        s.locked_contacts[key] = c.contact;
      else
        s.locked_contacts.erase(key);
      return;
    }
  }
}

}  // namespace gw::domain
