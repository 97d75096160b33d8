// Classification of routine connection errors.
#include "gateway/net/errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

namespace gw::net {

bool is_expected(const boost::system::error_code& ec) noexcept {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  return ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::not_connected || ec == asio::error::bad_descriptor ||
         ec == beast::error::timeout || ec == beast::http::error::end_of_stream ||
         ec == beast::websocket::error::closed || ec == asio::ssl::error::stream_truncated;
}

}  // namespace gw::net
