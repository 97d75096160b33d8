// The admin API for prepaid balances (openapi.yaml in this directory): a
// channel's balance, top-ups, and the statement of every movement.
// Authorised like the directory routes (admin_access.hpp).
#pragma once

#include <string>

#include "gateway/api/webhooks.hpp"
#include "gateway/domain/billing.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/net/router.hpp"

namespace gw::api {

void add_billing_routes(net::router& r, std::string admin_key, domain::directory_service& dir,
                        const channel_directory& channels, domain::billing_service& billing);

}  // namespace gw::api
