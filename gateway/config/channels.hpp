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

}  // namespace gw
