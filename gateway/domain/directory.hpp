// The directory: tenants, their channels, agents, teams and agent tokens.
// Small, read on every agent request and webhook, changed rarely through the
// admin API.
//
// Every change is a `directory_change` record; the same apply() runs when a
// change is made and when the directory journal is replayed, so a restarted
// gateway has exactly the directory it acknowledged. The state here is
// plain data with no locking; directory_service (directory_service.hpp) adds
// the threads and the journal.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.hpp"

namespace gw::domain {

enum class agent_role : std::uint8_t { agent, admin };
std::string_view name_of(agent_role r) noexcept;

struct tenant_record {
  std::string id, name;
  bool segmented = false;  // agents see only `new` and their own conversations
  // Provider calls per second across all the tenant's channels (0: only
  // each channel's own limit applies).
  unsigned messages_per_second = 0;
};

struct agent_record {
  std::string tenant, id, name;
  agent_role role = agent_role::agent;
  std::vector<std::string> channels;  // channels it may use; empty = every channel
  bool may_use(std::string_view channel) const;
};

struct team_record {
  std::string tenant, id, name;
  std::vector<std::string> members;  // agent ids
};

// A token is stored as the SHA-256 of its secret, never the secret itself.
struct token_record {
  std::string id;  // public handle, used to revoke
  std::string tenant, agent;
  std::string hash;  // hex SHA-256 of the secret
  std::int64_t created_ms = 0;
  bool revoked = false;
};

// A provider channel is a channel_config (config.hpp), secrets included:
// webhooks are verified with them. Held by shared pointer so a webhook can
// keep the one it verified with while the directory changes.
using channel_ptr = std::shared_ptr<const channel_config>;

// A contact's preferences on one channel. Only locked contacts are kept.
struct contact_record {
  std::string tenant, channel, address;
  bool auto_locked = false;  // refuses automatic messages (reminders); agents may still write
};

// One change, as journaled. `kind` says which of the records it carries.
struct directory_change {
  enum class kind : std::uint8_t {
    put_tenant,
    put_agent,
    put_team,
    issue_token,
    revoke_token,
    put_channel,
    delete_channel,
    put_contact,
  };
  kind what = kind::put_tenant;
  tenant_record tenant;
  agent_record agent;
  team_record team;
  token_record token;   // issue: the whole record; revoke: id
  channel_ptr channel;  // put: the whole channel; delete: tenant and id
  contact_record contact;
};

std::string encode(const directory_change& c);  // JSON text
std::optional<directory_change> decode_directory_change(std::string_view json);

struct directory_state {
  std::map<std::string, tenant_record> tenants;
  std::map<std::string, agent_record> agents;  // key: tenant + '/' + id
  std::map<std::string, team_record> teams;    // key: tenant + '/' + id
  std::map<std::string, token_record> tokens;  // key: id
  std::map<std::string, std::string> token_by_hash;
  std::map<std::string, channel_ptr> channels;            // key: channel id (unique overall)
  std::map<std::string, std::string> channel_by_number;   // channel_number() -> id
  std::map<std::string, contact_record> locked_contacts;  // key: tenant/channel/address

  // Null when there is no such channel.
  channel_ptr channel(std::string_view id) const;
  channel_ptr channel_by(std::string_view number) const;

  const tenant_record* tenant(std::string_view id) const;
  const agent_record* agent(std::string_view tenant, std::string_view id) const;
  const team_record* team(std::string_view tenant, std::string_view id) const;
  const token_record* token(std::string_view id) const;
  // The token whose secret hashes to `hash`, if it exists and is not revoked.
  const token_record* live_token_by_hash(std::string_view hash) const;
  // Whether the contact refuses automatic messages.
  bool auto_locked(std::string_view tenant, std::string_view channel,
                   std::string_view address) const;
  // Teams of `tenant` that list `agent` as a member.
  std::vector<std::string> teams_of(std::string_view tenant, std::string_view agent) const;
};

// Why `c` cannot be applied to `s` (a missing tenant or agent, a team member
// who is not an agent of the tenant, a token id in use...), or nullopt.
// The admin API checks before journaling; replay trusts the journal.
std::optional<std::string> check(const directory_state& s, const directory_change& c);
void apply(directory_state& s, const directory_change& c);

// The rule for every id in the directory: 1..64 of [A-Za-z0-9._-].
bool valid_directory_id(std::string_view id) noexcept;

}  // namespace gw::domain
