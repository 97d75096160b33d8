// Accepting connections, enforcing http.max_connections, spreading shards.
#include "gateway/net/listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "gateway/net/errors.hpp"
#include "gateway/net/http_session.hpp"
#include "gateway/obs/log.hpp"

namespace gw::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

listener::listener(server_context& ctx, runtime::shard_set& shards, const tcp::endpoint& at)
    : ctx_(ctx), shards_(shards), acceptor_(shards.at(0).ioc), backoff_(shards.at(0).ioc) {
  acceptor_.open(at.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(at);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

tcp::endpoint listener::local_endpoint() const { return acceptor_.local_endpoint(); }

void listener::start() { accept(); }

void listener::stop() {
  if (stopped_) return;
  stopped_ = true;
  error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
  if (!accepting_) become_quiet();
}

void listener::become_quiet() {
  if (quiet_set_) return;
  quiet_set_ = true;
  quiet_.set_value();
}

void listener::accept() {
  if (stopped_) return;
  auto& target = shards_.at(next_);
  next_ = (next_ + 1) % shards_.size();
  accepting_ = true;
  acceptor_.async_accept(target.ioc, [self = shared_from_this()](error_code ec, tcp_socket s) {
    self->accepting_ = false;
    self->on_accept(ec, std::move(s));
  });
}

void listener::on_accept(error_code ec, tcp_socket socket) {
  if (stopped_) return become_quiet();
  if (ec) {
    // Out of descriptors or memory: back off briefly instead of spinning.
    log::warn("accept failed", {{"error", ec.message()}});
    backoff_.expires_after(std::chrono::milliseconds(50));
    backoff_.async_wait([self = shared_from_this()](error_code e) {
      if (!e) self->accept();
    });
    return;
  }
  auto& m = ctx_.metrics;
  if (m.connections_open.load(std::memory_order_relaxed) >=
      static_cast<std::int64_t>(ctx_.cfg.http.max_connections)) {
    refuse(std::move(socket));
  } else {
    m.connections_open.fetch_add(1, std::memory_order_relaxed);
    m.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    // The socket already belongs to its shard's io_context; start it there.
    // The slot travels with it, so a task dropped at shutdown still uncounts.
    auto* sh = &shards_.at((next_ + shards_.size() - 1) % shards_.size());
    asio::post(sh->ioc, [ctx = &ctx_, sh, s = std::move(socket),
                         slot = connection_slot(&ctx_.metrics)]() mutable {
      start_http_session(std::move(s), *ctx, *sh, std::move(slot));
    });
  }
  accept();
}

// Over the connection limit: a best-effort 503 (plain text on a TLS port is
// unreadable but harmless), then close. Never blocks the acceptor.
void listener::refuse(tcp_socket socket) {
  ctx_.metrics.connections_rejected.fetch_add(1, std::memory_order_relaxed);
  static const std::string reply = [] {
    std::string body = protocol::error_body(protocol::http_error::unavailable,
                                            "too many connections; try again later");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Connection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(reply), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace gw::net
