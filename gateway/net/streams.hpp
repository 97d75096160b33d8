// The two transport stream types every session is instantiated for.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <type_traits>

namespace gw::net {

// Connections run on their shard's io_context and name its executor type,
// not Asio's type-erased any_io_executor: every operation a session starts
// copies its stream's executor and dispatches through it, and the erased
// one costs a copy through a function table and an indirect call each time
// (4.8 % of the gateway's samples under ingest, self time; end to end the
// saving stays inside this machine's noise: bench/PROFILE.md).
using executor = boost::asio::io_context::executor_type;
using tcp_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, executor>;
using plain_stream = boost::beast::basic_stream<boost::asio::ip::tcp, executor>;
using tls_stream = boost::beast::ssl_stream<plain_stream>;

template <class Stream>
inline constexpr bool is_tls_v = std::is_same_v<Stream, tls_stream>;

}  // namespace gw::net
