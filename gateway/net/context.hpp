// What every connection needs from the server: settings, metrics, routes, TLS.
// Built once before the shards start; read-only afterwards (metrics aside).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
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
  unsigned shard = 0;         // the session's home shard: its commands run there
  std::string token_id, tenant, agent, role;
  std::uint64_t epoch = 0, offset = 0;  // the tenant's position, for `hello`
};
// Any thread. nullopt: no such live token.
using agent_authenticator = std::function<std::optional<agent_identity>(std::string_view secret)>;

// A frame that sessions on every shard send alike (an admin notice), encoded
// once and shared between the shards.
using shared_frame = std::shared_ptr<const std::string>;

// A session's outbound queue, for code on the session's own thread (the
// event fan-out): no hop. Session thread only.
class agent_outbox {
 public:
  virtual ~agent_outbox() = default;
  // Queues a text frame: its bytes are copied into the session's write
  // buffer, so `frame` may go as soon as this returns. False once the
  // session is closing (nothing more gets out).
  virtual bool push(std::string_view frame) = 0;
  // Bytes a replay may still queue: half the outbound budget, less what
  // waits already (the other half is for live events meanwhile).
  virtual std::size_t replay_room() const noexcept = 0;
};

// Runs an authenticated agent's command (other than auth and ping), on the
// session's thread. Frames for the session go to `send` from any thread, in
// order (the session hops to its own thread; false once it is gone), or,
// from the session's thread and when they must not be overtaken by a hop
// (the `ok` of a `sub` and the events after it), to `outbox`.
using frame_sink = std::function<bool(std::string)>;
using agent_command_runner =
    std::function<void(const agent_identity& who, const protocol::command& cmd, frame_sink send,
                       std::weak_ptr<agent_outbox> outbox)>;

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
