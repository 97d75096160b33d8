// Bounded-time test clients.
#include "tests/support/clients.hpp"

namespace gw::test {

io_thread::io_thread() : guard_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {}

io_thread::~io_thread() {
  guard_.reset();
  ioc_.stop();
  thread_.join();
}

namespace {
tcp::endpoint loopback(std::uint16_t port) { return {asio::ip::make_address("127.0.0.1"), port}; }
}  // namespace

tcp_client::tcp_client(std::uint16_t port, std::chrono::milliseconds limit)
    : sock_(io_.ioc()), limit_(limit) {
  auto f = sock_.async_connect(loopback(port), io_.use_future());
  await(f, limit_, "connect");
}

tcp_client::~tcp_client() {
  run_on(io_, [this] {
    boost::system::error_code ignored;
    sock_.close(ignored);
  });
}

void tcp_client::send(std::string_view bytes) {
  auto f = asio::async_write(sock_, asio::buffer(bytes), io_.use_future());
  await(f, limit_, "send");
}

http_response tcp_client::read_response() {
  auto res = std::make_shared<http_response>();
  auto parser = std::make_shared<http::response_parser<http::string_body>>();
  parser->body_limit(64 * 1024 * 1024);
  auto f = http::async_read(sock_, buf_, *parser, io_.use_future());
  await(f, limit_, "read response");
  return parser->release();
}

http_response tcp_client::request(http::request<http::string_body> req) {
  req.set(http::field::host, "127.0.0.1");
  req.prepare_payload();
  auto f = http::async_write(sock_, req, io_.use_future());
  await(f, limit_, "write request");
  return read_response();
}

http_response tcp_client::get(std::string target) {
  return request(http::request<http::string_body>{http::verb::get, target, 11});
}

bool tcp_client::wait_closed(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  char scratch[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    auto f = sock_.async_read_some(asio::buffer(scratch), io_.use_future());
    if (f.wait_for(left) != std::future_status::ready) {
      run_on(io_, [this] { sock_.cancel(); });
      try {
        f.get();
      } catch (...) {
      }
      return false;
    }
    try {
      f.get();
    } catch (const boost::system::system_error&) {
      return true;  // EOF or reset: closed
    }
  }
}

http_response http_get(std::uint16_t port, std::string target) {
  tcp_client c(port);
  return c.get(std::move(target));
}

http_response http_post(std::uint16_t port, std::string target, std::string body,
                        std::string_view content_type, const header_list& headers) {
  tcp_client c(port);
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::content_type, content_type);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  return c.request(std::move(req));
}

http_response http_request(std::uint16_t port, http::verb method, std::string target,
                           std::string body, const header_list& headers) {
  tcp_client c(port);
  http::request<http::string_body> req{method, target, 11};
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  return c.request(std::move(req));
}

double metric(std::uint16_t port, std::string_view series) {
  auto text = http_get(port, "/metrics").body();
  std::string_view rest = text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    auto line = rest.substr(0, nl);
    if (line.starts_with(series) && line.size() > series.size() && line[series.size()] == ' ')
      return std::stod(std::string(line.substr(series.size() + 1)));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return -1;
}

ws_client::ws_client(std::uint16_t port, std::string subprotocol, std::chrono::milliseconds limit,
                     int rcvbuf, std::string bearer)
    : ws_(io_.ioc()), limit_(limit) {
  auto& sock = ws_.next_layer();
  sock.open(tcp::v4());
  if (rcvbuf > 0) sock.set_option(asio::socket_base::receive_buffer_size(rcvbuf));
  auto f = sock.async_connect(loopback(port), io_.use_future());
  await(f, limit_, "connect");
  ws_.set_option(
      websocket::stream_base::decorator([subprotocol, bearer](websocket::request_type& req) {
        if (!subprotocol.empty()) req.set(http::field::sec_websocket_protocol, subprotocol);
        if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
      }));
  websocket::response_type res;
  auto h = ws_.async_handshake(res, "127.0.0.1", "/v1/agent", io_.use_future());
  await(h, limit_, "websocket handshake");
  subprotocol_ = std::string(res[http::field::sec_websocket_protocol]);
}

ws_client::~ws_client() {
  run_on(io_, [this] {
    boost::system::error_code ignored;
    ws_.next_layer().close(ignored);
  });
}

void ws_client::send_text(std::string text) {
  auto f = ws_.async_write(asio::buffer(text), io_.use_future());
  await(f, limit_, "websocket write");
}

std::string ws_client::read_text() {
  buf_.clear();
  auto f = ws_.async_read(buf_, io_.use_future());
  await(f, limit_, "websocket read");
  return beast::buffers_to_string(buf_.data());
}

}  // namespace gw::test

namespace gw::test {

std::uint16_t ws_client::read_until_close(int* messages) {
  int n = 0;
  try {
    for (;;) {
      read_text();
      ++n;
    }
  } catch (const std::exception&) {
    // The close frame sets reason(); the error itself may be `closed` or,
    // when the server tears down first, a socket error from our own reply.
    // A timeout leaves the code 0, which the caller's check reports.
  }
  if (messages) *messages = n;
  return close_code();
}

}  // namespace gw::test
