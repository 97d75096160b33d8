// The layer under Beast's WebSocket stream that owns the socket's writes,
// so that many small messages leave in one write.
//
// Beast writes each WebSocket message with its own composed operation and
// its own socket write; at hundreds of thousands of small event frames per
// second that machinery and the kernel's per-send cost are most of the CPU.
// Here every write is copied into one buffer and a send of everything
// buffered is posted once per turn of the session's executor: a fan-out
// drain that queues twenty events for a session makes one send of twenty
// frames. The session appends its own text frames directly
// (append_text_frame: FIN, text, unmasked, as a server sends them); Beast's
// frames (the handshake answer, pong, ping, close) arrive through
// async_write_some and are appended whole, so frames never interleave. Both
// keep their order.
//
// Bounded by the session: buffered() is what waits for the socket, and the
// session closes a client whose backlog passes its budget. Reads pass
// through. Over plain TCP, reads and sends go to the socket itself, not
// through the timed stream's composed operations (see async_read_some).
// Session thread only. Teardown (the end of a WebSocket close) sends what is
// buffered first.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "gateway/net/streams.hpp"

namespace gw::net {

// Told how many bytes wait for the socket whenever that changes.
class backlog_observer {
 public:
  virtual void backlog_changed(std::int64_t delta) noexcept = 0;

 protected:
  ~backlog_observer() = default;
};

template <class Next>
class coalescing_stream {
  // Plain TCP reads and writes the socket directly, TLS passes through: any
  // other stream would silently take the pass-through path.
  static_assert(std::is_same_v<Next, plain_stream> || std::is_same_v<Next, tls_stream>,
                "coalescing_stream runs over the server's plain_stream or tls_stream");

 public:
  using executor_type = typename Next::executor_type;
  using next_layer_type = Next;

  explicit coalescing_stream(Next&& next) : next_(std::move(next)) {}
  coalescing_stream(const coalescing_stream&) = delete;
  coalescing_stream& operator=(const coalescing_stream&) = delete;
  ~coalescing_stream() {
    if (st_) st_->alive = false;  // a send still in flight finds the stream gone
  }

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }
  const Next& next_layer() const noexcept { return next_; }
  void observe(backlog_observer* o) noexcept { observer_ = o; }
  // What owns this stream: a send in flight keeps it alive (the operation
  // refers to the layer below), so the owner may drop it at any time.
  void keep_alive(std::weak_ptr<void> owner) noexcept { owner_ = std::move(owner); }

  // Bytes accepted and not yet sent.
  std::size_t buffered() const noexcept { return st_ ? st_->pending.size() + st_->sent.size() : 0; }

  // Appends one complete text message as a single frame. Returns the bytes
  // appended (header and payload).
  std::size_t append_text_frame(std::string_view payload) {
    char header[10];
    std::size_t h = 2;
    header[0] = static_cast<char>(0x81);  // FIN, text
    const auto n = payload.size();
    if (n < 126) {
      header[1] = static_cast<char>(n);
    } else if (n <= 0xffff) {
      header[1] = 126;
      header[2] = static_cast<char>(n >> 8);
      header[3] = static_cast<char>(n & 0xff);
      h = 4;
    } else {
      header[1] = 127;
      for (int i = 0; i < 8; ++i) header[2 + i] = static_cast<char>((n >> (56 - 8 * i)) & 0xff);
      h = 10;
    }
    auto& s = get_state();
    s.pending.append(header, h);
    s.pending.append(payload);
    grew(h + n);
    return h + n;
  }

  // Drops what was accepted but is not being sent yet (a session that is
  // closing sends nothing more of its own).
  void discard_pending() {
    if (!st_ || st_->pending.empty()) return;
    auto n = st_->pending.size();
    st_->pending.clear();
    notify(-static_cast<std::int64_t>(n));
  }

  // Over plain TCP, reads go straight to the socket, into the first
  // non-empty buffer (a read_some may fill less than it is given). Asio
  // sizes a receive operation for its buffer sequence type: Beast's
  // timed stream passes every read on as a prefix view, which Asio holds
  // with room for 64 iovecs (1 KiB), and an idle session's read waits for
  // hours. The WebSocket session keeps its own timeouts; the timed stream's
  // are off (expires_never). TLS reads pass through.
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    if constexpr (std::is_same_v<Next, plain_stream>) {
      boost::asio::mutable_buffer first;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers) && first.size() == 0; ++it)
        first = *it;
      return next_.socket().async_read_some(first, std::forward<Token>(token));
    } else {
      return next_.async_read_some(buffers, std::forward<Token>(token));
    }
  }

  // Beast's writes: accepted whole, completed through the executor.
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto h, const Buffers& b) {
          boost::system::error_code ec = st_ ? st_->error : boost::system::error_code{};
          std::size_t n = 0;
          if (!ec) {
            auto& s = get_state();
            for (auto it = boost::asio::buffer_sequence_begin(b);
                 it != boost::asio::buffer_sequence_end(b); ++it) {
              boost::asio::const_buffer piece(*it);
              s.pending.append(static_cast<const char*>(piece.data()), piece.size());
              n += piece.size();
            }
            grew(n);
          }
          auto ex = boost::asio::get_associated_executor(h, get_executor());
          boost::asio::post(ex, boost::beast::bind_handler(std::move(h), ec, n));
        },
        token, buffers);
  }

  // Sends what is buffered, then runs `done(ec)` (teardown).
  void flush_then(std::function<void(boost::system::error_code)> done) {
    flush();
    if (!st_ || !st_->sending) return done(st_ ? st_->error : boost::system::error_code{});
    st_->after_send = std::move(done);
  }

 private:
  // Made on the first write and dropped once everything is sent, so an idle
  // session holds none of it. Shared with the send in flight.
  struct state {
    std::string pending;  // accepted, not yet handed to the socket
    std::string sent;     // the send in flight
    std::function<void(boost::system::error_code)> after_send;
    boost::system::error_code error;  // the first send error; later bytes are dropped
    bool sending = false;
    bool flush_posted = false;
    bool alive = true;
  };

  state& get_state() {
    if (!st_) st_ = std::make_shared<state>();
    return *st_;
  }

  void notify(std::int64_t delta) noexcept {
    if (observer_) observer_->backlog_changed(delta);
  }

  // `n` bytes were appended: count them, and send them after this turn.
  void grew(std::size_t n) {
    notify(static_cast<std::int64_t>(n));
    auto& s = *st_;
    if (s.error) {  // the socket is broken: nothing more will leave
      notify(-static_cast<std::int64_t>(s.pending.size()));
      s.pending.clear();
      return;
    }
    if (s.flush_posted || s.sending) return;  // the send in flight takes it next
    s.flush_posted = true;
    boost::asio::post(next_.get_executor(), [this, st = st_] {
      if (!st->alive) return;
      st->flush_posted = false;
      flush();
    });
  }

  void flush() {
    if (!st_ || st_->sending) return;
    auto& s = *st_;
    if (s.pending.empty()) {
      if (!s.after_send && !s.error && !s.flush_posted) st_.reset();
      return;
    }
    s.sending = true;
    s.sent.swap(s.pending);
    boost::asio::async_write(
        writer(), boost::asio::buffer(s.sent),
        [this, st = st_, owner = owner_.lock()](boost::system::error_code ec, std::size_t) {
          if (!st->alive) return;
          st->sending = false;
          notify(-static_cast<std::int64_t>(st->sent.size()));
          st->sent.clear();
          if (ec && !st->error) {
            st->error = ec;
            notify(-static_cast<std::int64_t>(st->pending.size()));
            st->pending.clear();
          }
          flush();
          if (!st->sending && st->after_send) std::exchange(st->after_send, nullptr)(st->error);
        });
  }

  // Where sends go: over plain TCP the socket itself, as for reads.
  auto& writer() noexcept {
    if constexpr (std::is_same_v<Next, plain_stream>)
      return next_.socket();
    else
      return next_;
  }

  Next next_;
  std::shared_ptr<state> st_;
  backlog_observer* observer_ = nullptr;
  std::weak_ptr<void> owner_;
};

// WebSocket teardown (Beast finds these by argument-dependent lookup):
// send what is buffered, then tear the layer below down.
template <class Next>
void teardown(boost::beast::role_type role, coalescing_stream<Next>& s,
              boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class Next, class Handler>
void async_teardown(boost::beast::role_type role, coalescing_stream<Next>& s, Handler&& h) {
  auto held = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(h));
  s.flush_then([role, &s, held](boost::system::error_code) mutable {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, s.next_layer(), std::move(*held));
  });
}

}  // namespace gw::net
