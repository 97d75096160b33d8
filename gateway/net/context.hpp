// What every connection needs from the server: settings, metrics, routes, TLS.
// Built once before the shards start; read-only afterwards (metrics aside).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "gateway/config/config.hpp"
#include "gateway/net/router.hpp"
#include "gateway/obs/metrics.hpp"
#include "protocol/agent_frames.hpp"

namespace gw::net {

// Who an agent token belongs to, as a WebSocket session needs it.
struct agent_identity {
  std::uint64_t session = 0;  // unique per WebSocket session
  std::string token_id, tenant, agent, role;
  std::uint64_t epoch = 0, offset = 0;  // the tenant's position, for `hello`
};
// Any thread. nullopt: no such live token.
using agent_authenticator = std::function<std::optional<agent_identity>(std::string_view secret)>;

// Runs an authenticated agent's command (other than auth and ping). Frames
// for the session (the answer, and for `sub` the events that follow) go to
// `send`, from any thread, in order; the session hops to its own thread.
// `send` returns false once the session is gone.
using frame_sink = std::function<bool(std::string)>;
using agent_command_runner =
    std::function<void(const agent_identity& who, const protocol::command& cmd, frame_sink send)>;

struct server_context {
  const config& cfg;
  metrics::registry& metrics;
  const router& routes;
  boost::asio::ssl::context* tls = nullptr;  // null: plain TCP
  agent_authenticator authenticate_agent;    // unset: every token is refused
  agent_command_runner run_agent_command;    // unset: commands answer unavailable
};

// One counted connection. Moves from the HTTP session to the WebSocket
// session on upgrade; the count drops when the last owner goes.
class connection_slot {
 public:
  explicit connection_slot(metrics::registry* m) noexcept : m_(m) {}
  connection_slot(connection_slot&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  connection_slot& operator=(connection_slot&&) = delete;
  ~connection_slot() {
    if (m_) m_->connections_open.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  metrics::registry* m_;
};

}  // namespace gw::net
