// TLS on the same port: HTTPS and WSS with a verified certificate.
#include <gtest/gtest.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tls_files.hpp"

namespace gw::test {
namespace {

namespace ssl = asio::ssl;

struct tls_fixture : ::testing::Test {
  tls_files files = make_tls_files();
  gateway_process gw{{},
                     {"GATEWAY_TLS_CERT_FILE=" + files.cert, "GATEWAY_TLS_KEY_FILE=" + files.key}};
  ssl::context client_ctx{ssl::context::tls_client};
  io_thread io;

  void SetUp() override {
    client_ctx.load_verify_file(files.cert);
    client_ctx.set_verify_mode(ssl::verify_peer);
  }

  // Connects and completes a verified TLS handshake.
  void connect(beast::ssl_stream<tcp::socket>& s) {
    auto c = beast::get_lowest_layer(s).async_connect(
        {asio::ip::make_address("127.0.0.1"), gw.port()}, io.use_future());
    await(c, 5s, "connect");
    s.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    auto h = s.async_handshake(ssl::stream_base::client, io.use_future());
    await(h, 5s, "tls handshake");
  }
};

TEST_F(tls_fixture, HttpsKeepAlive) {
  beast::ssl_stream<tcp::socket> s(io.ioc(), client_ctx);
  connect(s);
  beast::flat_buffer buf;
  for (int i = 0; i < 3; ++i) {
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    auto w = http::async_write(s, req, io.use_future());
    await(w, 5s, "write");
    http_response res;
    auto r = http::async_read(s, buf, res, io.use_future());
    await(r, 5s, "read");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), R"({"status":"ok"})");
  }
  run_on(io, [&] { beast::get_lowest_layer(s).close(); });
}

TEST_F(tls_fixture, SecureWebSocket) {
  websocket::stream<beast::ssl_stream<tcp::socket>> ws(io.ioc(), client_ctx);
  connect(ws.next_layer());
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(http::field::sec_websocket_protocol, "gw.agent.v1");
  }));
  auto h = ws.async_handshake("127.0.0.1", "/v1/agent", io.use_future());
  await(h, 5s, "ws handshake");
  std::string ping = R"({"c":"ping","id":"tls"})";
  auto w = ws.async_write(asio::buffer(ping), io.use_future());
  await(w, 5s, "ws write");
  beast::flat_buffer buf;
  auto r = ws.async_read(buf, io.use_future());
  await(r, 5s, "ws read");
  EXPECT_EQ(beast::buffers_to_string(buf.data()), R"({"t":"pong","id":"tls"})");
  auto c = ws.async_close(websocket::close_code::normal, io.use_future());
  await(c, 5s, "ws close");
}

TEST_F(tls_fixture, PlainTextClientFailsHandshakeAndIsCounted) {
  tcp_client plain(gw.port());
  plain.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(plain.wait_closed(3s));
  // /metrics over TLS shows the failed handshake.
  beast::ssl_stream<tcp::socket> s(io.ioc(), client_ctx);
  connect(s);
  http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
  req.set(http::field::host, "127.0.0.1");
  auto w = http::async_write(s, req, io.use_future());
  await(w, 5s, "write");
  beast::flat_buffer buf;
  http_response res;
  auto r = http::async_read(s, buf, res, io.use_future());
  await(r, 5s, "read");
  EXPECT_NE(res.body().find("gateway_tls_handshake_failures_total 1\n"), std::string::npos);
  run_on(io, [&] { beast::get_lowest_layer(s).close(); });
}

TEST(Tls, MismatchedKeyStopsStartUp) {
  auto a = make_tls_files();
  auto b = make_tls_files();
  auto r = run_gateway({"--listen", "127.0.0.1:0", "--data-dir", a.dir.path() + "/d"},
                       {"GATEWAY_TLS_CERT_FILE=" + a.cert, "GATEWAY_TLS_KEY_FILE=" + b.key});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("tls.key_file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mismatch"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gw::test
