// The HTTP/1.1 session: a small loop of phases (handshake, idle, reading,
// handling, writing) over a plain or TLS stream.
#include "gateway/net/http_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <optional>

#include "gateway/net/errors.hpp"
#include "gateway/net/http_wire.hpp"
#include "gateway/net/streams.hpp"
#include "gateway/net/ws_session.hpp"
#include "gateway/obs/log.hpp"
#include "protocol/ws_subprotocol.hpp"

namespace gw::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using protocol::http_error;
using clock = std::chrono::steady_clock;

constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t max_path_in_messages = 200;
constexpr std::size_t keep_out_capacity = 4096;  // a larger response's buffer is freed

std::string quote_path(std::string_view path) {
  if (path.size() > max_path_in_messages)
    return std::string(path.substr(0, max_path_in_messages)) + "...";
  return std::string(path);
}

template <class Stream>
class http_session final : public runtime::session_base,
                           public std::enable_shared_from_this<http_session<Stream>> {
 public:
  http_session(Stream&& stream, server_context& ctx, runtime::shard& home, connection_slot slot)
      : stream_(std::move(stream)), ctx_(ctx), home_(home), slot_(std::move(slot)) {
    home_.sessions.add(this);
  }
  ~http_session() override { home_.sessions.remove(this); }

  void start() {
    if (home_.sessions.stopping) return finish();
    if constexpr (is_tls_v<Stream>) {
      phase_ = phase::handshake;
      lowest().expires_after(cfg().http.header_timeout);
      stream_.async_handshake(
          asio::ssl::stream_base::server,
          [self = this->shared_from_this()](error_code ec) { self->on_handshake(ec); });
    } else {
      wait_request();
    }
  }

  void shutdown() override {
    draining_ = true;
    // Between requests there is nothing in flight: stop waiting now. Requests
    // being read, handled or written finish and are answered with
    // "Connection: close".
    if (phase_ == phase::idle || phase_ == phase::handshake) lowest().cancel();
  }

 private:
  enum class phase { handshake, idle, reading, handling, writing, closing };

  const config& cfg() const noexcept { return ctx_.cfg; }
  plain_stream& lowest() noexcept { return beast::get_lowest_layer(stream_); }
  auto self() { return this->shared_from_this(); }

  void on_handshake(error_code ec) {
    if (ec) {
      ctx_.metrics.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      log::debug("tls handshake failed", {{"error", ec.message()}});
      return;  // dropping the last reference closes the socket
    }
    wait_request();
  }

  // Idle: wait (http.idle_timeout) for the first byte of the next request.
  void wait_request() {
    phase_ = phase::idle;
    if (draining_) return finish();
    if (buffer_.size() > 0) return read_header();  // pipelined request already here
    lowest().expires_after(cfg().http.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = self()](error_code ec, std::size_t n) {
      self->buffer_.commit(n);
      if (ec == asio::error::operation_aborted && self->draining_) return self->finish();
      if (ec) return self->on_io_error(ec, "idle");
      self->read_header();
    });
  }

  void read_header() {
    phase_ = phase::reading;
    started_ = clock::now();
    route_index_ = 0;
    match_ = {};
    rc_.reset();  // refers to the message of the parser about to be replaced
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(cfg().http.max_header_bytes));
    // No body limit while the header is read: Beast would judge a declared
    // Content-Length before the route is known, and refuse it as nobody's
    // (not counted for the route, the wrong setting named). The route's
    // limit is set from on_header, before a byte of the body is read.
    parser_->body_limit(boost::none);
    body_limit_ = cfg().http.max_body_bytes;
    limit_name_ = "http.max_body_bytes";
    limits_ = nullptr;
    if (error_code ec; parse_buffered(false, ec)) return on_header(ec);
    lowest().expires_after(cfg().http.header_timeout);
    beast::http::async_read_header(stream_, buffer_, *parser_,
                                   [self = self()](error_code ec, std::size_t n) {
                                     self->count_in(n);
                                     self->on_header(ec);
                                   });
  }

  void on_header(error_code ec) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    if (beast::websocket::is_upgrade(req)) return upgrade();
    match_route();
    if (!apply_body_limit()) return;
    if (beast::iequals(req[beast::http::field::expect], "100-continue") && !parser_->is_done()) {
      interim_.emplace(beast::http::status::continue_, req.version());
      beast::http::async_write(stream_, *interim_, [self = self()](error_code wec, std::size_t n) {
        self->count_out(n);
        if (wec) return self->on_io_error(wec, "write");
        self->read_body();
      });
      return;
    }
    read_body();
  }

  // Routes a request once, as soon as its headers are in: the route's own
  // limits apply before the body is read, and route() reuses the match.
  void match_route() {
    auto& req = parser_->get();
    auto [path, query] = split_target(req.target());
    rc_.emplace(req, path, query);  // in place: its params are held inline
    match_ = ctx_.routes.find(req.method(), path, &*rc_);
    route_index_ = match_.index;
  }

  // The body's limit: http.max_body_bytes, or the route's own when it is
  // smaller. A declared length over it is refused now, unread; the parser
  // stops a chunked body once past it.
  bool apply_body_limit() {
    limits_ = match_.options;
    if (limits_ && limits_->max_body_bytes != 0 && limits_->max_body_bytes < body_limit_) {
      body_limit_ = limits_->max_body_bytes;
      limit_name_ = limits_->limit_name;
    }
    if (auto length = parser_->content_length(); length && *length > body_limit_) {
      refuse_too_large();
      return false;
    }
    parser_->body_limit(body_limit_);
    return true;
  }

  // 413, told to the route (which counts it) whichever limit it passed.
  void refuse_too_large() {
    if (limits_ && limits_->on_too_large) limits_->on_too_large(*rc_);
    reply_error(http_error::payload_too_large, "request body exceeds " + std::string(limit_name_) +
                                                   " (" + std::to_string(body_limit_) + " bytes)");
  }

  void read_body() {
    if (error_code ec; parse_buffered(true, ec)) {
      if (ec) return on_read_error(ec);
      return route();
    }
    lowest().expires_after(cfg().http.body_timeout);
    beast::http::async_read(stream_, buffer_, *parser_,
                            [self = self()](error_code ec, std::size_t n) {
                              self->count_in(n);
                              if (ec) return self->on_read_error(ec);
                              self->route();
                            });
  }

  bool parse_buffered(bool whole, error_code& ec) {
    std::size_t used = 0;
    bool done = net::parse_buffered(*parser_, buffer_, whole, ec, used);
    count_in(used);
    return done;
  }

  void on_read_error(error_code ec) {
    using beast::http::error;
    if (ec == error::header_limit)
      return reply_error(http_error::header_too_large,
                         "request headers exceed http.max_header_bytes (" +
                             std::to_string(cfg().http.max_header_bytes) + " bytes)");
    if (ec == error::body_limit) return refuse_too_large();
    if (ec == error::end_of_stream || ec == error::partial_message || ec == beast::error::timeout ||
        is_expected(ec))
      return on_io_error(ec, "read");
    reply_error(http_error::bad_request, "malformed request: " + ec.message());
  }

  void on_io_error(error_code ec, std::string_view during) {
    if (ec == beast::error::timeout) {
      ctx_.metrics.http_timeouts.fetch_add(1, std::memory_order_relaxed);
      log::debug("http timeout", {{"phase", during}});
    } else if (!is_expected(ec)) {
      log::warn("http connection error", {{"phase", during}, {"error", ec.message()}});
    }
    phase_ = phase::closing;  // the socket closes when the last handler lets go
  }

  void upgrade() {
    auto& req = parser_->get();
    auto [path, query] = split_target(req.target());
    request_context rc{req, path, query, {}};
    auto m = ctx_.routes.find(req.method(), path, &rc);
    route_index_ = m.index;
    if (!m.websocket)
      return reply_error(http_error::not_found, "no WebSocket endpoint at " + quote_path(path));
    auto proto = protocol::negotiate_subprotocol(req[beast::http::field::sec_websocket_protocol]);
    if (!proto)
      return reply_error(
          http_error::unsupported_subprotocol,
          "Sec-WebSocket-Protocol must offer " + std::string(protocol::agent_subprotocol_v1));
    if (draining_) return reply_error(http_error::unavailable, "the gateway is shutting down");
    ctx_.metrics.count_request(route_index_, 101, clock::now() - started_);
    phase_ = phase::closing;  // this object is done; the WebSocket session takes over
    start_ws_session(std::move(stream_), parser_->release(), *proto, ctx_, home_, std::move(slot_));
  }

  void route() {
    auto& req = parser_->get();
    auto& rc = *rc_;
    const auto path = rc.path;
    const auto& m = match_;
    if (m.index == 0)
      return respond(make_error(http_error::not_found, "no route for " + quote_path(path)));
    if (!m.h) {
      auto res = make_error(http_error::method_not_allowed,
                            std::string(req.method_string()) + " is not allowed on " +
                                quote_path(path) + "; allowed: " + m.allow);
      res.set(beast::http::field::allow, m.allow);
      return respond(std::move(res));
    }
    if (m.websocket) {
      auto res =
          make_error(http_error::upgrade_required,
                     quote_path(path) + " accepts only WebSocket upgrades with subprotocol " +
                         std::string(protocol::agent_subprotocol_v1));
      res.set(beast::http::field::upgrade, "websocket");
      return respond(std::move(res));
    }
    phase_ = phase::handling;
    responder answer([self = self()](response res) {
      // Handlers may answer from any thread: hop home first.
      asio::dispatch(self->stream_.get_executor(),
                     [self, res = std::move(res)]() mutable { self->respond(std::move(res)); });
    });
    try {
      (*m.h)(rc, std::move(answer));
    } catch (const std::exception& e) {
      // The responder, destroyed unanswered during unwinding, has sent 500.
      log::error("handler threw", {{"route", ctx_.routes.labels()[m.index]}, {"what", e.what()}});
    }
  }

  // Writes a handler's response, keeping the connection if both sides want.
  void respond(response res) {
    const auto& req = parser_->get();
    bool keep = req.keep_alive() && !draining_;
    res.version(req.version());
    res.keep_alive(keep);
    write(res, !keep);
  }

  // Answers an error found while reading; the connection closes after it,
  // since the rest of the request is not worth reading.
  void reply_error(http_error e, std::string message) {
    auto res = make_error(e, message);
    res.keep_alive(false);
    write(res, true);
  }

  // One buffer, one write: the response serialised by us rather than
  // walked through Beast's serializer.
  void write(const response& res, bool close) {
    phase_ = phase::writing;
    status_ = res.result_int();
    out_.clear();
    serialize(res, out_);
    lowest().expires_after(cfg().http.body_timeout);
    asio::async_write(
        stream_, asio::buffer(out_),
        [self = self(), close](error_code ec, std::size_t n) { self->on_write(ec, n, close); });
  }

  void on_write(error_code ec, std::size_t n, bool close) {
    count_out(n);
    ctx_.metrics.count_request(route_index_, status_, clock::now() - started_);
    if (out_.capacity() > keep_out_capacity) std::string().swap(out_);
    rc_.reset();
    parser_.reset();
    if (ec) return on_io_error(ec, "write");
    if (close) return finish();
    wait_request();
  }

  // Orderly close: TLS close_notify, or half-close and drain what the peer
  // still sends (so it reads our last response instead of a reset).
  void finish() {
    phase_ = phase::closing;
    lowest().expires_after(linger_time);
    if constexpr (is_tls_v<Stream>) {
      stream_.async_shutdown([self = self()](error_code) { self->lowest().close(); });
    } else {
      error_code ignored;
      lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      drain();
    }
  }

  void drain() {
    lowest().async_read_some(asio::buffer(discard_), [self = self()](error_code ec, std::size_t) {
      if (ec) return self->lowest().close();
      self->drain();
    });
  }

  void count_in(std::size_t n) noexcept {
    ctx_.metrics.bytes_received.fetch_add(n, std::memory_order_relaxed);
  }
  void count_out(std::size_t n) noexcept {
    ctx_.metrics.bytes_sent.fetch_add(n, std::memory_order_relaxed);
  }

  Stream stream_;
  server_context& ctx_;
  runtime::shard& home_;
  connection_slot slot_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::string out_;  // the response being written; its capacity kept for the next
  unsigned status_ = 0;
  std::optional<beast::http::response<beast::http::empty_body>> interim_;
  std::array<char, 1024> discard_{};
  phase phase_ = phase::idle;
  bool draining_ = false;
  clock::time_point started_{};
  std::size_t route_index_ = 0;
  router::match match_;                // the request's route, found with its headers
  std::optional<request_context> rc_;  // its path, query and {params}
  // The request's body limit, the setting that sets it, and the matched
  // route's options (told about a 413), if it has any.
  std::size_t body_limit_ = 0;
  std::string_view limit_name_;
  const route_options* limits_ = nullptr;
};

}  // namespace

void start_http_session(tcp_socket socket, server_context& ctx, runtime::shard& home,
                        connection_slot slot) {
  error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  if (ctx.tls) {
    std::make_shared<http_session<tls_stream>>(
        tls_stream(plain_stream(std::move(socket)), *ctx.tls), ctx, home, std::move(slot))
        ->start();
  } else {
    std::make_shared<http_session<plain_stream>>(plain_stream(std::move(socket)), ctx, home,
                                                 std::move(slot))
        ->start();
  }
}

}  // namespace gw::net
