// The outbound HTTP/1.1 client: keep-alive connections to provider APIs,
// over TLS (peer verification and SNI on by default) or plain TCP for
// loopback stand-ins, pooled per origin with a connection limit, bounded
// waiting, and connect/request/idle timeouts. Names are resolved with
// Asio's asynchronous resolver.
//
// Threads: one pool per shard. request() and close() on that shard's
// thread; completions run there too. Shared-nothing: each shard holds its
// own connections.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/outbound.hpp"

namespace gw::net {

// Where a provider lives: scheme, host, port and a path prefix, from a base
// URL such as "https://graph.facebook.com" or "http://127.0.0.1:9400/sim".
struct origin {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string path;         // prefix of every request target, without a trailing '/'
  std::string key() const;  // "https://host:port"
};
// nullopt when `url` is not http(s)://host[:port][/path] (no query, no user).
std::optional<origin> parse_origin(std::string_view url);

struct client_options {
  unsigned max_connections_per_origin = 128;
  std::size_t max_waiting_per_origin = 4096;          // requests queued for a connection
  std::chrono::milliseconds connect_timeout{5'000};   // resolve + connect + TLS handshake
  std::chrono::milliseconds request_timeout{15'000};  // write the request, read the answer
  std::chrono::milliseconds idle_timeout{30'000};     // an idle connection older is not reused
  std::size_t max_response_bytes = 1024 * 1024;
  bool verify_peer = true;  // TLS: check the chain and the host name
  std::string ca_file;      // PEM bundle; empty: the system's default paths
};

// What became of one request. `written` says whether the request reached
// the socket in full: when it did not, the provider cannot have acted on
// it, so sending it again cannot duplicate it.
struct client_result {
  adapters::http_reply reply;  // status 0 when no answer was read
  std::string error;           // empty on an answer; else what failed ("connect: ...")
  bool written = false;
  bool reused = false;     // the connection had served an earlier request
  bool timed_out = false;  // the request timeout ran out (before or after the write)
};

class http_client_pool {
 public:
  using done_fn = std::function<void(client_result)>;

  // Throws std::runtime_error when the TLS context cannot be set up (a bad
  // ca_file).
  http_client_pool(boost::asio::io_context& ioc, client_options opts);
  ~http_client_pool();
  http_client_pool(const http_client_pool&) = delete;
  http_client_pool& operator=(const http_client_pool&) = delete;

  // Sends `call` (its target appended to o.path) and calls `done` exactly
  // once, on this pool's thread, never inline. After close(), fails at once.
  void request(const origin& o, adapters::http_call call, done_fn done);

  // Whether a request to `o` would go out at once, on an idle connection or
  // a new one, instead of waiting for a busy connection. Callers that pace
  // their requests (the outbound limits) ask first: a request that waits
  // here would leave later than its pacing said.
  bool can_start_now(const origin& o) const;

  // Fails waiting requests, cancels those in flight, closes connections.
  void close();

  struct stats {
    std::uint64_t connects = 0, connect_failures = 0, requests = 0, reused = 0, failures = 0,
                  refused_full = 0;
    std::size_t open = 0, idle = 0, waiting = 0;
  };
  stats counters() const;

  class connection;  // one keep-alive connection (http_client.cpp)

 private:
  struct pending {
    adapters::http_call call;
    done_fn done;
  };
  struct host_pool {
    origin where;
    unsigned open = 0;  // connecting, busy or idle
    std::deque<std::shared_ptr<connection>> idle;
    std::deque<pending> waiting;
    std::vector<std::weak_ptr<connection>> live;  // for close()
  };
  void dispatch(host_pool& h, pending p);
  void run_on(host_pool& h, std::shared_ptr<connection> c, pending p);
  void finished(host_pool& h, std::shared_ptr<connection> c, bool reusable);
  void start_connection(host_pool& h, pending p);
  void start_next_waiting(host_pool& h);
  void fail(done_fn done, std::string why);

  boost::asio::io_context& ioc_;
  client_options opts_;
  boost::asio::ssl::context tls_;
  std::map<std::string, host_pool> hosts_;  // by origin key
  std::shared_ptr<bool> alive_;             // connections check it before calling back
  bool closed_ = false;
  stats stats_;
};

}  // namespace gw::net
