#include "gateway/net/http_client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "gateway/runtime/thread_name.hpp"
#include "tests/support/tls_files.hpp"

namespace gw::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

TEST(Origin, ParsesBaseUrls) {
  auto o = parse_origin("https://graph.facebook.com");
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->tls);
  EXPECT_EQ(o->host, "graph.facebook.com");
  EXPECT_EQ(o->port, 443);
  EXPECT_EQ(o->path, "");
  o = parse_origin("http://127.0.0.1:9400/sim/v1/");
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->tls);
  EXPECT_EQ(o->port, 9400);
  EXPECT_EQ(o->path, "/sim/v1");
  EXPECT_EQ(o->key(), "http://127.0.0.1:9400");
  o = parse_origin("https://[::1]:8443");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 8443);
  for (auto bad : {"ftp://x", "https://", "https://u:p@host", "http://h:0", "http://h:70000",
                   "http://h:x", "https://h/p?q=1", "graph.facebook.com"})
    EXPECT_FALSE(parse_origin(bad)) << bad;
}

// A loopback HTTP(S) server on its own threads (one per connection,
// blocking I/O): answers POST with the request's body and target, and obeys
// a few test headers: X-Delay-Ms, X-Close (answer, then close), X-Silent
// (read the request, never answer), X-Echo-Meta (answer with the target,
// Host and Content-Length it saw), X-Split (write the answer in two pieces,
// the cut inside the header, 30 ms apart).
class test_server {
 public:
  explicit test_server(ssl::context* tls = nullptr)
      : tls_(tls),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}),
        listen_fd_(acceptor_.native_handle()),
        port_(acceptor_.local_endpoint().port()) {
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~test_server() {
    // Only system calls on the descriptors here: the accept and worker
    // threads still use the Asio objects until they are joined.
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes the blocking accept()
    {
      std::lock_guard lock(mu_);
      for (int fd : sockets_) ::shutdown(fd, SHUT_RDWR);
    }
    accept_thread_.join();
    for (auto& t : workers_) t.join();
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  int requests() const { return requests_; }
  std::string last_sni() {
    std::lock_guard lock(mu_);
    return sni_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      tcp::socket s(ioc_);
      beast::error_code ec;
      acceptor_.accept(s, ec);
      if (ec) return;
      ++connections_;
      workers_.emplace_back([this, s = std::move(s)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(tcp::socket s) {
    int fd = s.native_handle();
    {
      std::lock_guard lock(mu_);
      sockets_.insert(fd);
    }
    beast::error_code ec;
    if (tls_) {
      ssl::stream<tcp::socket&> stream(s, *tls_);
      stream.handshake(ssl::stream_base::server, ec);
      if (!ec) {
        if (auto* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
          std::lock_guard lock(mu_);
          sni_ = name;
        }
        exchange(stream);
      }
    } else {
      exchange(s);
    }
    std::lock_guard lock(mu_);
    sockets_.erase(fd);
  }

  template <class Stream>
  void exchange(Stream& stream) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(stream, buf, req, ec);
      if (ec) return;
      ++requests_;
      if (req.count("X-Silent")) {
        http::read(stream, buf, req, ec);  // until the client gives up
        return;
      }
      if (auto d = req["X-Delay-Ms"]; !d.empty())
        std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(d))));
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::retry_after, "3");
      res.body() = req.body();
      if (req.count("X-Echo-Meta"))
        res.body() = std::string(req.target()) + " " + std::string(req[http::field::host]) + " " +
                     std::string(req[http::field::content_length]);
      bool close = req.count("X-Close") > 0;
      res.keep_alive(!close);
      res.prepare_payload();
      if (req.count("X-Split")) {
        std::ostringstream bytes;
        bytes << res;
        auto all = bytes.str();
        asio::write(stream, asio::buffer(all.data(), 20), ec);
        std::this_thread::sleep_for(30ms);
        if (!ec) asio::write(stream, asio::buffer(all.data() + 20, all.size() - 20), ec);
      } else {
        http::write(stream, res, ec);
      }
      if (ec || close) return;
    }
  }

  ssl::context* tls_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  int listen_fd_;
  std::uint16_t port_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0}, requests_{0};
  std::thread accept_thread_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::set<int> sockets_;  // descriptors of the connections being served
  std::string sni_;
};

// Runs a pool on this thread's io_context until `n` requests complete.
struct harness {
  asio::io_context ioc;
  std::vector<client_result> results;

  client_result one(http_client_pool& pool, const origin& o, adapters::http_call call) {
    auto before = results.size();
    pool.request(o, std::move(call), [this](client_result r) { results.push_back(std::move(r)); });
    run_until(before + 1);
    return results.back();
  }
  void run_until(std::size_t n, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    ioc.restart();
    while (results.size() < n && std::chrono::steady_clock::now() < deadline) ioc.run_for(10ms);
    ASSERT_EQ(results.size(), n) << "timed out";
  }
};

client_options with(const std::function<void(client_options&)>& set) {
  client_options o;
  set(o);
  return o;
}

adapters::http_call post(std::string target, std::string body,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  adapters::http_call c;
  c.target = std::move(target);
  c.body = std::move(body);
  c.headers = std::move(headers);
  return c;
}

TEST(HttpClientPool, KeepAliveRequestsShareAFewConnections) {
  test_server server;
  harness h;
  http_client_pool pool(h.ioc, with([&](client_options& o) { o.max_connections_per_origin = 4; }));
  auto o = *parse_origin("http://127.0.0.1:" + std::to_string(server.port()) + "/v21.0");
  for (int i = 0; i < 200; ++i)
    pool.request(o, post("/123/messages", "body-" + std::to_string(i)),
                 [&h](client_result r) { h.results.push_back(std::move(r)); });
  EXPECT_EQ(pool.counters().waiting, 196u);  // four connecting, the rest wait for them
  h.run_until(200);
  std::set<std::string> bodies;
  for (auto& r : h.results) {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.reply.status, 200u);
    EXPECT_TRUE(r.written);
    EXPECT_EQ(r.reply.retry_after, "3");
    bodies.insert(r.reply.body);
  }
  EXPECT_EQ(bodies.size(), 200u);  // every answer is its own request's
  EXPECT_EQ(server.connections(), 4);
  EXPECT_EQ(server.requests(), 200);
  auto st = pool.counters();
  EXPECT_EQ(st.connects, 4u);
  EXPECT_EQ(st.idle, 4u);
  EXPECT_EQ(st.waiting, 0u);
  // Each connection's first request is the only one it did not reuse for.
  // (Not "the last answer was on a reused connection": under load one
  // connection may open late, and its first answer come last.)
  EXPECT_EQ(std::count_if(h.results.begin(), h.results.end(), [](auto& r) { return r.reused; }),
            196);
}

// The thread Asio resolves names on is started by a shard's first
// connection; it must not be a second gw-shard-N.
TEST(HttpClientPool, TheResolverThreadHasANameOfItsOwn) {
  test_server server;
  std::map<std::string, int> names;  // name -> threads, while the pool lives
  std::string shard_name_after;
  std::thread shard([&] {
    runtime::name_this_thread("gw-shard-7");
    harness h;
    http_client_pool pool(h.ioc, {});
    auto o = *parse_origin("http://127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(h.one(pool, o, post("/a", "x")).reply.status, 200u);
    shard_name_after = runtime::this_thread_name();
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
      std::string name;
      std::getline(std::ifstream(task.path() / "comm"), name);
      ++names[name];
    }
  });
  shard.join();
  EXPECT_EQ(shard_name_after, "gw-shard-7");
  EXPECT_EQ(names["gw-shard-7"], 1);
  EXPECT_EQ(names["gw-dns-7"], 1);
}

TEST(HttpClientPool, TargetAndHostHeader) {
  test_server server;
  harness h;
  http_client_pool pool(h.ioc, {});
  auto o = *parse_origin("http://127.0.0.1:" + std::to_string(server.port()) + "/base/");
  auto r = h.one(pool, o,
                 post("/2010-04-01/Accounts/AC1/Messages.json", "To=%2B1", {{"X-Echo-Meta", "1"}}));
  EXPECT_EQ(r.reply.body, "/base/2010-04-01/Accounts/AC1/Messages.json 127.0.0.1:" +
                              std::to_string(server.port()) + " 7");
}

// An answer cut in pieces (inside its header), or larger than any one
// read, is read to its end, and the connection stays in step.
TEST(HttpClientPool, AnswersInPiecesAndLargeOnesAreReadWhole) {
  test_server server;
  harness h;
  http_client_pool pool(h.ioc, {});
  auto o = *parse_origin("http://127.0.0.1:" + std::to_string(server.port()));
  auto split = h.one(pool, o, post("/a", "in two pieces", {{"X-Split", "1"}}));
  EXPECT_EQ(split.reply.status, 200u);
  EXPECT_EQ(split.reply.body, "in two pieces");
  EXPECT_EQ(split.reply.retry_after, "3");
  std::string large(100'000, 'x');
  large.back() = 'y';
  auto big = h.one(pool, o, post("/a", large));
  EXPECT_EQ(big.reply.body, large);
  auto next = h.one(pool, o, post("/a", "after"));  // the connection is still in step
  EXPECT_EQ(next.reply.body, "after");
  EXPECT_TRUE(next.reused);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientPool, ServerCloseMeansANewConnectionNextTime) {
  test_server server;
  harness h;
  http_client_pool pool(h.ioc, {});
  auto o = *parse_origin("http://127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(h.one(pool, o, post("/a", "1", {{"X-Close", "1"}})).reply.status, 200u);
  auto r = h.one(pool, o, post("/a", "2"));
  EXPECT_EQ(r.reply.body, "2");
  EXPECT_FALSE(r.reused);
  EXPECT_EQ(server.connections(), 2);
  EXPECT_TRUE(h.one(pool, o, post("/a", "3")).reused);
}

TEST(HttpClientPool, RefusedConnectionsAreNotWritten) {
  std::uint16_t port;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  harness h;
  http_client_pool pool(h.ioc, {});
  auto r = h.one(pool, *parse_origin("http://127.0.0.1:" + std::to_string(port)), post("/", "x"));
  EXPECT_EQ(r.reply.status, 0u);
  EXPECT_FALSE(r.written);
  EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
  EXPECT_EQ(pool.counters().connect_failures, 1u);
  EXPECT_EQ(pool.counters().open, 0u);
}

TEST(HttpClientPool, SilentServerTimesOutAfterTheRequestWasWritten) {
  test_server server;
  harness h;
  http_client_pool pool(h.ioc, with([&](client_options& o) { o.request_timeout = 300ms; }));
  auto o = *parse_origin("http://127.0.0.1:" + std::to_string(server.port()));
  auto r = h.one(pool, o, post("/", "x", {{"X-Silent", "1"}}));
  EXPECT_EQ(r.reply.status, 0u);
  EXPECT_TRUE(r.written);  // the provider may have acted on it
  EXPECT_NE(r.error.find("read"), std::string::npos) << r.error;
  EXPECT_EQ(h.one(pool, o, post("/", "after")).reply.body, "after");  // a fresh connection
}

TEST(HttpClientPool, BoundedWaitingAndClose) {
  test_server server;
  harness h;
  http_client_pool pool(h.ioc, with([&](client_options& o) {
                          o.max_connections_per_origin = 1;
                          o.max_waiting_per_origin = 2;
                        }));
  auto o = *parse_origin("http://127.0.0.1:" + std::to_string(server.port()));
  auto keep = [&h](client_result r) { h.results.push_back(std::move(r)); };
  pool.request(o, post("/", "slow", {{"X-Delay-Ms", "200"}}), keep);
  pool.request(o, post("/", "w1"), keep);
  pool.request(o, post("/", "w2"), keep);
  pool.request(o, post("/", "w3"), keep);  // no room
  h.run_until(1);
  EXPECT_NE(h.results[0].error.find("too many requests waiting"), std::string::npos);
  EXPECT_EQ(pool.counters().refused_full, 1u);
  h.run_until(4);
  pool.request(o, post("/", "late"), keep);
  pool.close();
  h.run_until(5);
  EXPECT_EQ(h.results[4].error, "client closed");
  pool.request(o, post("/", "after close"), keep);
  h.run_until(6);
  EXPECT_EQ(h.results[5].error, "client closed");
}

struct tls_server_context {
  test::tls_files files;
  ssl::context ctx{ssl::context::tls_server};
  explicit tls_server_context(const std::string& san = "IP:127.0.0.1,DNS:localhost")
      : files(test::make_tls_files(san)) {
    ctx.use_certificate_chain_file(files.cert);
    ctx.use_private_key_file(files.key, ssl::context::pem);
  }
};

TEST(HttpClientPool, TlsVerifiesThePeerAndSendsSni) {
  tls_server_context tls;
  test_server server(&tls.ctx);
  harness h;
  auto https = [&](std::string host) {
    return *parse_origin("https://" + host + ":" + std::to_string(server.port()));
  };
  {
    http_client_pool pool(h.ioc, with([&](client_options& o) { o.ca_file = tls.files.cert; }));
    auto r = h.one(pool, https("localhost"), post("/", "secret"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.reply.body, "secret");
    EXPECT_EQ(server.last_sni(), "localhost");
    r = h.one(pool, https("127.0.0.1"), post("/", "by address"));
    EXPECT_EQ(r.reply.body, "by address");
  }
  {
    // Not trusted: the system CAs never signed this certificate.
    http_client_pool pool(h.ioc, {});
    auto r = h.one(pool, https("localhost"), post("/", "x"));
    EXPECT_EQ(r.reply.status, 0u);
    EXPECT_FALSE(r.written);
    EXPECT_NE(r.error.find("tls handshake"), std::string::npos) << r.error;
  }
  {
    http_client_pool pool(h.ioc, with([&](client_options& o) { o.verify_peer = false; }));
    EXPECT_EQ(h.one(pool, https("localhost"), post("/", "unverified")).reply.body, "unverified");
  }
}

TEST(HttpClientPool, TlsChecksTheHostName) {
  tls_server_context tls("DNS:other.test");  // trusted, but for another name
  test_server server(&tls.ctx);
  harness h;
  http_client_pool pool(h.ioc, with([&](client_options& o) { o.ca_file = tls.files.cert; }));
  auto r = h.one(pool, *parse_origin("https://127.0.0.1:" + std::to_string(server.port())),
                 post("/", "x"));
  EXPECT_NE(r.error.find("tls handshake"), std::string::npos) << r.error;
  EXPECT_THROW(
      http_client_pool(h.ioc, with([&](client_options& o) { o.ca_file = "/nonexistent/ca.pem"; })),
      std::runtime_error);
}

}  // namespace
}  // namespace gw::net
