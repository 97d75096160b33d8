// The WebSocket session: one read loop, one write loop over a byte-bounded
// queue, and a close path that every ending goes through once.
#include "gateway/net/ws_session.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <memory>
#include <vector>

#include "gateway/net/coalescing_stream.hpp"
#include "gateway/net/errors.hpp"
#include "gateway/net/exact_allocator.hpp"
#include "gateway/obs/log.hpp"
#include "protocol/agent_frames.hpp"
#include "protocol/agent_session.hpp"
#include "protocol/close_codes.hpp"

namespace gw::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;
using protocol::close_code;

template <class Stream>
class ws_session final : public runtime::session_base,
                         public agent_outbox,
                         private backlog_observer,
                         public std::enable_shared_from_this<ws_session<Stream>> {
 public:
  ws_session(Stream&& stream, server_context& ctx, runtime::shard& home, connection_slot slot)
      : ws_(std::move(stream)),
        ctx_(ctx),
        home_(home),
        slot_(std::move(slot)),
        close_timer_(ws_.get_executor()),
        auth_timer_(ws_.get_executor()),
        rate_(ctx.cfg.ws.commands_per_second, ctx.cfg.ws.command_burst) {
    home_.sessions.add(this);
    ctx_.metrics.ws_sessions_open.fetch_add(1, std::memory_order_relaxed);
    ws_.next_layer().observe(this);
  }

  ~ws_session() override {
    home_.sessions.remove(this);
    ctx_.metrics.ws_sessions_open.fetch_sub(1, std::memory_order_relaxed);
    ctx_.metrics.ws_outbound_queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_),
                                                    std::memory_order_relaxed);
    ws_.next_layer().observe(nullptr);
  }

  void run(request req, std::string_view subprotocol) {
    ws_.next_layer().keep_alive(this->weak_from_this());
    const auto& wc = ctx_.cfg.ws;
    beast::get_lowest_layer(ws_).expires_never();  // the WebSocket timeouts take over
    websocket::stream_base::timeout t;
    t.handshake_timeout = wc.handshake_timeout;
    t.idle_timeout = wc.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(wc.max_frame_bytes);
    ws_.text(true);
    ws_.set_option(websocket::stream_base::decorator(
        [proto = std::string(subprotocol)](websocket::response_type& res) {
          res.set(beast::http::field::server, "gateway/" GATEWAY_VERSION);
          res.set(beast::http::field::sec_websocket_protocol, proto);
        }));
    constexpr std::string_view bearer = "Bearer ";
    if (auto auth = req[beast::http::field::authorization]; auth.starts_with(bearer))
      header_token_ = std::string(auth.substr(bearer.size()));
    upgrade_ = std::make_unique<request>(std::move(req));
    ws_.async_accept(*upgrade_, [self = this->shared_from_this()](error_code ec) {
      self->upgrade_.reset();
      if (ec) return self->on_error(ec, "accept");
      if (self->home_.sessions.stopping)
        return self->close(close_code::going_away, "shutting down");
      self->start_authentication();
      self->read();
    });
  }

  void token_revoked(std::string_view token_id) override {
    if (who_ && who_->token_id == token_id)
      close(close_code::token_revoked, "the session's token was revoked");
  }

  void admin_notice(std::string_view tenant, const shared_frame& frame) override {
    if (who_ && who_->tenant == tenant && who_->role == "admin") push(*frame);
  }

  void shutdown() override {
    if (upgrade_) return;  // still accepting: the accept handler sees `stopping`
    close(close_code::going_away, "the gateway is shutting down");
  }

  // Queues one text frame. Session thread only. Over the outbound budget the
  // session is closed with slow_consumer instead: the client resumes later.
  void send(std::string_view frame) { push(frame); }

  // Frames go straight into the socket layer's buffer, which sends what
  // gathered in one write after this turn (coalescing_stream.hpp).
  std::size_t replay_room() const noexcept override {
    auto half = ctx_.cfg.ws.max_outbound_bytes / 2;
    return queued_bytes_ >= half ? 0 : half - queued_bytes_;
  }

  bool push(std::string_view frame) override {
    if (closing_) return false;
    if (queued_bytes_ + frame.size() > ctx_.cfg.ws.max_outbound_bytes) {
      log::info("websocket slow consumer", {{"queued_bytes", queued_bytes_}});
      close(close_code::slow_consumer, "outbound budget exceeded; reconnect and resume");
      return false;
    }
    auto n = ws_.next_layer().append_text_frame(frame);
    ctx_.metrics.ws_frames_sent.fetch_add(1, std::memory_order_relaxed);
    ctx_.metrics.bytes_sent.fetch_add(n, std::memory_order_relaxed);
    return true;
  }

 private:
  // Reads a message piece by piece: a waiting session holds a small buffer
  // (Beast's whole-message read would hold 1.5 KB per idle session); the
  // buffer grows with the message, and read_message_max still bounds it.
  // The pending read is allocated at its own size (exact_allocator.hpp):
  // an idle session waits in it.
  void read() {
    std::size_t want = in_.size() == 0 ? 128 : std::min<std::size_t>(in_.size(), 64 * 1024);
    ws_.async_read_some(
        in_.prepare(want),
        asio::bind_allocator(exact_allocator<void>{},
                             [self = this->shared_from_this()](error_code ec, std::size_t n) {
                               if (ec) return self->on_error(ec, "read");
                               self->in_.commit(n);
                               self->message_bytes_ += n;
                               if (!self->ws_.is_message_done()) return self->read();
                               self->on_read(std::exchange(self->message_bytes_, 0));
                             }));
  }

  void on_read(std::size_t n) {
    ctx_.metrics.ws_frames_received.fetch_add(1, std::memory_order_relaxed);
    ctx_.metrics.bytes_received.fetch_add(n, std::memory_order_relaxed);
    if (!ws_.got_text()) {
      in_.consume(in_.size());
      return close(close_code::unsupported, "binary frames are not supported");
    }
    auto text = beast::buffers_to_string(in_.data());
    in_.consume(in_.size());
    if (in_.capacity() > 4096) in_.shrink_to_fit();  // after a large message
    handle(text);
    if (!closing_)
      read();
    else
      read_until_closed();
  }

  // Keeps reading after we started closing so the peer's close reply and
  // Beast's close handshake complete; frames that still arrive are ignored.
  void read_until_closed() {
    ws_.async_read(in_, [self = this->shared_from_this()](error_code ec, std::size_t) {
      self->in_.consume(self->in_.size());
      if (ec) return self->on_error(ec, "read");
      self->read_until_closed();
    });
  }

  // A token from the upgrade's Authorization header is checked at once;
  // without one, the client has ws.auth_timeout_ms to send `auth`.
  void start_authentication() {
    if (!header_token_.empty()) return authenticate(std::exchange(header_token_, {}), {});
    auth_timer_.expires_after(ctx_.cfg.ws.auth_timeout);
    auth_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (!ec && !self->who_)
        self->close(close_code::auth_timeout, "no valid token within ws.auth_timeout_ms");
    });
  }

  // `id`: the auth command's id, empty for the header.
  void authenticate(std::string_view secret, std::string_view id) {
    auto who = ctx_.authenticate_agent ? ctx_.authenticate_agent(secret) : std::nullopt;
    if (!who) {
      send(protocol::encode_error(id, protocol::agent_error::bad_token,
                                  "the token is wrong, expired or revoked"));
      return close(close_code::bad_token, "bad token");
    }
    who_ = std::move(*who);
    static std::atomic<std::uint64_t> sessions{0};
    who_->session = sessions.fetch_add(1, std::memory_order_relaxed) + 1;
    who_->shard = home_.index;
    gate_.authenticated();
    auth_timer_.cancel();
    if (!id.empty()) send(protocol::encode_ok(id));
    const auto& wc = ctx_.cfg.ws;
    send(protocol::encode_hello({who_->agent,
                                 who_->tenant,
                                 who_->role,
                                 {who_->epoch, who_->offset},
                                 {wc.max_frame_bytes, wc.commands_per_second, wc.command_burst}}));
  }

  void handle(std::string_view text) {
    auto decoded = protocol::decode_command(text);
    // Every frame spends from the budget, bad ones included.
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
    if (auto wait = rate_.take(now)) {
      auto* f = std::get_if<protocol::decode_failure>(&decoded);
      return send(protocol::encode_error(
          f ? f->id : std::get<protocol::command>(decoded).id, protocol::agent_error::rate_limited,
          "more than " + std::to_string(ctx_.cfg.ws.commands_per_second) +
              " commands per second; retry in " + std::to_string(*wait) + " ms",
          {{"ra", *wait}}));
    }
    if (auto* f = std::get_if<protocol::decode_failure>(&decoded))
      return send(protocol::encode_error(f->id, f->error, f->message));
    const auto& cmd = std::get<protocol::command>(decoded);
    if (auto refused = gate_.admit(cmd))
      return send(protocol::encode_error(refused->id, refused->error, refused->message));
    if (cmd.kind == protocol::command_kind::ping) return send(protocol::encode_pong(cmd.id));
    if (cmd.kind == protocol::command_kind::auth) return authenticate(cmd.token, cmd.id);
    if (ctx_.run_agent_command) {
      ctx_.run_agent_command(
          *who_, cmd,
          [weak = this->weak_from_this(), ex = ws_.get_executor()](std::string f) {
            if (weak.expired()) return false;
            asio::post(ex, [weak, f = std::move(f)]() mutable {
              if (auto self = weak.lock()) self->send(std::move(f));
            });
            return true;
          },
          std::weak_ptr<agent_outbox>(this->weak_from_this()));
      return;
    }
    send(protocol::encode_error(cmd.id, protocol::agent_error::unavailable,
                                "this server runs no agent commands"));
  }

  // Every server-initiated close goes through here, once.
  void close(close_code code, std::string_view reason) {
    if (closing_) return;
    closing_ = true;
    auth_timer_.cancel();
    ctx_.metrics.count_ws_close(static_cast<std::uint16_t>(code));
    // A slow consumer's backlog is dropped (it resumes from its offset);
    // otherwise what was queued (a bad_token answer, say) goes out first.
    if (code == close_code::slow_consumer) ws_.next_layer().discard_pending();
    // A peer that reads nothing never lets the close frame out: cut it off.
    close_timer_.expires_after(ctx_.cfg.ws.handshake_timeout);
    close_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (!ec) beast::get_lowest_layer(self->ws_).close();
    });
    if (!ws_.is_open()) return;
    websocket::close_reason why(static_cast<websocket::close_code>(code), reason);
    ws_.async_close(why, [self = this->shared_from_this()](error_code ec) {
      self->close_timer_.cancel();
      if (ec && !is_expected(ec)) log::debug("websocket close failed", {{"error", ec.message()}});
    });
  }

  void on_error(error_code ec, std::string_view during) {
    if (!closing_) {
      closing_ = true;
      std::uint16_t code = 1006;  // abnormal: no close frame from the peer
      if (ec == websocket::error::closed)
        code = ws_.reason().code;
      else if (ec == websocket::error::message_too_big)
        code = 1009;  // Beast sent it
      ctx_.metrics.count_ws_close(code);
    }
    close_timer_.cancel();
    auth_timer_.cancel();
    if (!is_expected(ec) && ec != websocket::error::message_too_big)
      log::debug("websocket session ended", {{"phase", during}, {"error", ec.message()}});
  }

  void backlog_changed(std::int64_t delta) noexcept override {
    queued_bytes_ = static_cast<std::size_t>(static_cast<std::int64_t>(queued_bytes_) + delta);
    ctx_.metrics.ws_outbound_queued_bytes.fetch_add(delta, std::memory_order_relaxed);
  }

  websocket::stream<coalescing_stream<Stream>> ws_;
  server_context& ctx_;
  runtime::shard& home_;
  connection_slot slot_;
  asio::steady_timer close_timer_;
  asio::steady_timer auth_timer_;
  protocol::rate_limiter rate_;  // commands per second (ws.commands_per_second, ws.command_burst)
  protocol::session_gate gate_;
  std::string header_token_;           // from the upgrade request, until checked
  std::optional<agent_identity> who_;  // set once authenticated
  std::unique_ptr<request> upgrade_;   // only while the handshake runs
  beast::flat_buffer in_;
  std::size_t message_bytes_ = 0;  // of the message being read
  std::size_t queued_bytes_ = 0;   // waiting for the socket (coalescing_stream::buffered)
  bool closing_ = false;
};

}  // namespace

template <class Stream>
void start_ws_session(Stream&& stream, request req, std::string_view subprotocol,
                      server_context& ctx, runtime::shard& home, connection_slot slot) {
  std::make_shared<ws_session<Stream>>(std::move(stream), ctx, home, std::move(slot))
      ->run(std::move(req), subprotocol);
}

template void start_ws_session<plain_stream>(plain_stream&&, request, std::string_view,
                                             server_context&, runtime::shard&, connection_slot);
template void start_ws_session<tls_stream>(tls_stream&&, request, std::string_view, server_context&,
                                           runtime::shard&, connection_slot);

}  // namespace gw::net
