// The directory with its threads and its journal: many readers (every agent
// session, on any shard), one writer (the admin API's changes, run in turn
// on one shard's thread), and a journal of its own in data_dir/directory.
//
// A change is checked and applied on the writer thread, journaled, and its
// `done` runs once it is durable. Readers may see a change a moment before
// it is durable; the only thing that could then be lost in a crash is a
// change whose requester never got its answer (a new token's secret is only
// handed out in that answer).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <system_error>

#include "gateway/domain/directory.hpp"
#include "gateway/store/journal.hpp"

namespace gw::domain {

class directory_service {
 public:
  // `writer`: the io_context whose thread runs every change and the
  // journal's completions. `tuning`: segment size and group commit.
  directory_service(std::string dir, boost::asio::io_context& writer,
                    store::journal_options tuning);
  ~directory_service();

  // Replays the journal; call once before serving. Returns the number of
  // changes replayed. Throws on I/O errors or an undecodable record.
  std::size_t recover();

  // `problem` non-empty: refused by check(), nothing changed. `ec`: the
  // journal failed; the change may or may not survive a restart.
  using done_fn = std::function<void(std::error_code ec, std::string problem)>;
  // Any thread. `done` runs on the writer thread.
  void submit(directory_change c, done_fn done);

  // Runs `fn(const directory_state&)` under the read lock. Any thread.
  template <class Fn>
  auto read(Fn&& fn) const {
    std::shared_lock lock(mu_);
    return fn(state_);
  }

  // Called on the writer thread once a token's revocation is durable, so
  // that open sessions using it can be closed.
  void on_revoked(std::function<void(const std::string& token_id)> fn) { revoked_ = std::move(fn); }

  bool healthy() const noexcept { return journal_ && !journal_->failed(); }

  // Changes with every applied change: a reader may keep what it derived
  // from the directory until this moves. Any thread.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

 private:
  std::string dir_;
  boost::asio::io_context& writer_;
  store::journal_options tuning_;
  mutable std::shared_mutex mu_;
  directory_state state_;
  std::unique_ptr<store::journal> journal_;
  std::function<void(const std::string&)> revoked_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace gw::domain
