// The "channels" array of the config file: each entry checked field by
// field, so a typo names the channel and the field instead of failing later
// with a 401 from the provider's side.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw {

struct config;
struct channel_config;

enum class provider_kind : std::uint8_t;
// "whatsapp" or "twilio".
std::string_view provider_name(provider_kind p) noexcept;

// What is wrong with a channel object: the field, and why.
struct channel_problem {
  std::string field;
  std::string message;
};
// Reads one channel object (the config file's entries and the admin API's
// bodies alike): provider, then every field (strings only, none unknown),
// then what its provider requires. nullopt when `out` is a valid channel.
std::optional<channel_problem> read_channel(const boost::json::object& obj, channel_config& out);
// Writes the channel's fields as read_channel reads them (unset ones left
// out). Without `secrets`, secret fields are only named, in "secrets": what
// the admin API shows. The directory journal stores them with secrets.
void write_channel(const channel_config& ch, boost::json::object& out, bool secrets);

// Sending defaults, per provider, for fields left unset.
std::string_view default_api_base_url(provider_kind p) noexcept;
inline constexpr std::string_view default_whatsapp_api_version = "v21.0";
unsigned default_messages_per_second(provider_kind p) noexcept;  // 80 WhatsApp, 10 Twilio
inline constexpr unsigned default_pair_interval_ms = 6000;
inline constexpr unsigned default_pair_burst = 1;
inline constexpr unsigned default_max_segments = 10;  // Twilio's own ceiling: 1,600 characters

// The number webhooks name a channel by: the WhatsApp phone_number_id or the
// Twilio number. Unique across channels.
std::string_view channel_number(const channel_config& ch) noexcept;

// Replaces c.channels with the array's entries. Throws config_error naming
// "channels[i].field" and `source`.
void load_channels(config& c, const boost::json::value& channels, const std::string& source);

// Replaces c.agents with the "agents" array: tenant, id, name?, role?
// (agent|admin), token (16..256 bytes), channels? (ids). Throws
// config_error naming "agents[i].field".
void load_agents(config& c, const boost::json::value& agents, const std::string& source);
// Every agent's channels are channels of its tenant (once the whole file is read).
void check_agent_channels(const config& c, const std::string& source);

}  // namespace gw
