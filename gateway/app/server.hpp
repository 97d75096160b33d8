// The assembled server: shards, listener, routes, metrics, TLS, and the
// graceful shutdown sequence.
//
// Threads: every public method is for the thread that owns the server (main).
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>

#include "gateway/api/agent_commands.hpp"
#include "gateway/api/webhooks.hpp"
#include "gateway/app/routes.hpp"
#include "gateway/config/config.hpp"
#include "gateway/domain/billing.hpp"
#include "gateway/domain/conversations.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/domain/event_bus.hpp"
#include "gateway/net/context.hpp"
#include "gateway/net/listener.hpp"
#include "gateway/outbound/outbox.hpp"
#include "gateway/runtime/shards.hpp"

namespace gw::app {

class server {
 public:
  // Builds everything and binds the listening socket. Throws config_error
  // (bad TLS files) or boost::system::system_error (cannot bind).
  explicit server(const config& cfg);
  ~server();

  boost::asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  const metrics::registry& metrics() const noexcept { return metrics_; }

  // Starts the shard threads and accepting (/healthz answers, /readyz says
  // "recovering"), recovers the conversation core, then turns ready.
  // Throws when recovery fails.
  void start();

  domain::conversation_service& core() noexcept { return *core_; }
  domain::directory_service& directory() noexcept { return *directory_; }
  domain::billing_service& billing() noexcept { return *billing_; }

  // Graceful stop: stop accepting, let in-flight requests finish, close
  // WebSockets with 1001; waits at most shutdown_grace for connections to
  // end, then stops the shards. Returns the number of connections still
  // open when the grace period ran out (0 on a clean drain).
  std::int64_t shutdown();

 private:
  // Stops accepting and waits (until `deadline`) for the acceptor's last
  // operation to finish on shard 0.
  void stop_listener(std::chrono::steady_clock::time_point deadline);
  void apply_config_directory();

  const config& cfg_;
  std::atomic<lifecycle> state_{lifecycle::starting};
  metrics::registry metrics_;
  net::router router_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  net::server_context ctx_;
  runtime::shard_set shards_;
  domain::event_bus bus_;  // outlives the core that publishes to it
  std::unique_ptr<domain::conversation_service> core_;
  std::unique_ptr<domain::directory_service> directory_;
  std::unique_ptr<api::channel_directory> channels_;  // a view of directory_
  std::unique_ptr<domain::billing_service> billing_;
  std::unique_ptr<api::webhooks> webhooks_;
  std::unique_ptr<api::agent_commands> agent_commands_;
  std::unique_ptr<outbound::outbox> outbox_;  // destroyed after the shards stop
  std::shared_ptr<net::listener> listener_;
  boost::asio::ip::tcp::endpoint endpoint_;
};

}  // namespace gw::app
