// The "channels" array of the config file: each entry checked field by
// field, so a typo names the channel and the field instead of failing later
// with a 401 from the provider's side.
#pragma once

#include <boost/json/fwd.hpp>
#include <string>

namespace gw {

struct config;

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
