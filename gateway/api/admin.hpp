// The admin REST API under /v1/, authorised by `Authorization: Bearer
// <admin.key>`. For now it reads conversations; M4 adds tenants, channels,
// agents and tokens here.
#pragma once

#include <string>

#include "gateway/domain/conversations.hpp"
#include "gateway/net/router.hpp"

namespace gw::api {

// GET /v1/conversations/{tenant}/{channel}/{address}: one conversation's
// state as JSON (the address percent-decoded: "%2B1555..." or "+1555...").
void add_admin_routes(net::router& r, std::string admin_key, domain::conversation_service& core);

// The conversation as the admin API shows it.
std::string conversation_json(const domain::conversation& c, std::int64_t now_ms);

}  // namespace gw::api
