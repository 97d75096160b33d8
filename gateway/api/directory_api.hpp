// The admin API for the directory (openapi.yaml in this directory): tenants
// and their settings, agents, agent tokens and teams.
//
// Authorisation: `Authorization: Bearer <admin.key>` may do everything; an
// admin agent's token may manage its own tenant (not create tenants).
// Every change is journaled before it is answered; bad input gets 400 naming
// the field, and changes nothing.
#pragma once

#include <string>

#include "gateway/api/webhooks.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/net/router.hpp"

namespace gw::api {

void add_directory_routes(net::router& r, std::string admin_key, domain::directory_service& dir,
                          const channel_directory& channels);

// Hex SHA-256 of an agent token's secret: what the directory stores.
std::string token_hash(std::string_view secret);

// `bytes` random bytes from OpenSSL's CSPRNG, hex-encoded: token secrets and
// ids, message ids.
std::string random_hex(std::size_t bytes);

}  // namespace gw::api
