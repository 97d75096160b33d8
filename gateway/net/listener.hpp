// The acceptor: one listening socket on shard 0, each accepted connection
// handed to the next shard in turn (even spread, no SO_REUSEPORT hashing).
//
// Threads: construct on any thread before the shards run; start() and stop()
// on shard 0's thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <memory>

#include "gateway/net/context.hpp"
#include "gateway/net/streams.hpp"
#include "gateway/runtime/shards.hpp"

namespace gw::net {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens. Throws boost::system::system_error when the address
  // cannot be bound.
  listener(server_context& ctx, runtime::shard_set& shards,
           const boost::asio::ip::tcp::endpoint& at);

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  // Closes the acceptor. The pending accept completes (aborted) later; only
  // then is it safe to destroy the io_contexts, since that operation holds a
  // socket of the shard it was accepting for.
  void stop();
  // Ready once stop() was called and no accept is outstanding. Any thread.
  std::shared_future<void> quiet() const { return quiet_future_; }

 private:
  void accept();
  void on_accept(boost::system::error_code ec, tcp_socket socket);
  void refuse(tcp_socket socket);

  server_context& ctx_;
  runtime::shard_set& shards_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  unsigned next_ = 0;
  bool stopped_ = false;
  bool accepting_ = false;  // an async_accept is outstanding
  bool quiet_set_ = false;
  std::promise<void> quiet_;
  std::shared_future<void> quiet_future_ = quiet_.get_future().share();
  void become_quiet();
};

}  // namespace gw::net
