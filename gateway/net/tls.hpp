// The server's TLS context, built once at start-up from the configured files.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "gateway/config/config.hpp"

namespace gw::net {

// TLS 1.2 and 1.3 only. Throws config_error naming the file when the
// certificate or key cannot be loaded or do not match.
std::unique_ptr<boost::asio::ssl::context> make_server_tls(const tls_config& tls);

}  // namespace gw::net
