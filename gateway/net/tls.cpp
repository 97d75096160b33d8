// Loading the certificate chain and key into an OpenSSL server context.
#include "gateway/net/tls.hpp"

namespace gw::net {

std::unique_ptr<boost::asio::ssl::context> make_server_tls(const tls_config& tls) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec)
    throw config_error("tls.cert_file (check): cannot load \"" + tls.cert_file +
                       "\": " + ec.message());
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec)
    throw config_error("tls.key_file (check): cannot load \"" + tls.key_file +
                       "\": " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw config_error("tls.key_file (check): the key does not match tls.cert_file");
  return ctx;
}

}  // namespace gw::net
