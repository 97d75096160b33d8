// The API for clinic systems (openapi.yaml in this directory): automatic
// messages such as appointment reminders, and each contact's consent to
// them. Authorised like every admin route (admin_access.hpp).
//
//   POST /v1/tenants/{tenant}/channels/{channel}/messages
//        {"to", "tx" or "tpl", "key"}: sent like an agent's `send` (same
//        rules, balance, outbound queue), but automatic: a contact locked
//        against automatic messages refuses it, and it may be the first
//        message of a conversation. `key` makes a retry harmless.
//   GET|PUT /v1/tenants/{tenant}/channels/{channel}/contacts/{address}
//        {"auto_locked": true|false}: the contact's lock, journaled.
#pragma once

#include <string>

#include "gateway/api/agent_commands.hpp"
#include "gateway/api/webhooks.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/net/router.hpp"

namespace gw::api {

void add_automatic_routes(net::router& r, std::string admin_key, domain::directory_service& dir,
                          const channel_directory& channels, agent_commands& commands);

}  // namespace gw::api
