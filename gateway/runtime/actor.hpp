// Actors: state owned by one shard, reached only through a lock-free
// mailbox. Whoever flips `scheduled_` from false to true posts exactly one
// drain task to the home shard; a drain runs at most `batch` messages, then
// yields the thread (re-posting itself) so one busy actor cannot starve the
// others on its shard.
//
// Threads: tell() from any thread. The actor's state and receive() belong to
// the home shard's thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "gateway/runtime/mailbox.hpp"

namespace gw::runtime {

// A message: a callable run on the home shard with the actor's state.
template <class State>
struct envelope : mailbox_node {
  virtual ~envelope() = default;
  virtual void run(State& s) = 0;
};

template <class State>
class actor {
 public:
  // `home` runs the drains; `batch` bounds one drain.
  actor(boost::asio::io_context& home, std::size_t batch)
      : home_(home), batch_(static_cast<std::uint32_t>(std::min<std::size_t>(batch, UINT32_MAX))) {}
  actor(const actor&) = delete;
  actor& operator=(const actor&) = delete;
  ~actor() {
    // Only destroyed when no drain is pending (shard stopped); free leftovers.
    while (auto* n = mailbox_.pop()) delete static_cast<envelope<State>*>(n);
  }

  // Queues `fn(State&)` to run on the home shard, in push order per producer.
  template <class Fn>
  void tell(Fn&& fn) {
    struct impl final : envelope<State> {
      explicit impl(Fn&& f) : f_(std::forward<Fn>(f)) {}
      void run(State& s) override { f_(s); }
      std::decay_t<Fn> f_;
    };
    mailbox_.push(new impl(std::forward<Fn>(fn)));
    schedule();
  }

  State& state() noexcept { return state_; }  // home shard only
  boost::asio::io_context& home() const noexcept { return home_; }

 private:
  void schedule() {
    if (!scheduled_.exchange(true, std::memory_order_seq_cst))
      boost::asio::post(home_, [this] { drain(); });
  }

  void drain() {
    std::size_t done = 0;
    while (done < batch_) {
      auto* n = mailbox_.pop();
      if (!n) break;
      auto* e = static_cast<envelope<State>*>(n);
      std::unique_ptr<envelope<State>> owned(e);
      owned->run(state_);
      ++done;
    }
    if (done == batch_) {  // more may wait: yield, then continue
      boost::asio::post(home_, [this] { drain(); });
      return;
    }
    scheduled_.store(false, std::memory_order_seq_cst);
    // A producer may have pushed after our last pop but seen scheduled_ still
    // true; if anything is there, take the flag back and drain again.
    if (mailbox_.maybe_nonempty() && !scheduled_.exchange(true, std::memory_order_seq_cst))
      boost::asio::post(home_, [this] { drain(); });
  }

  // A gateway holds an actor per conversation: the two small fields share
  // one word.
  boost::asio::io_context& home_;
  const std::uint32_t batch_;
  std::atomic<bool> scheduled_{false};
  mailbox mailbox_;
  State state_{};
};

}  // namespace gw::runtime
