// Prepaid balances with their thread and their journal: one ledger
// (balance.hpp) per tenant and channel, changed only on one writer thread,
// journaled in data_dir/balance before any caller hears of a change.
//
// The send path: reserve() before the message is stored (so two agents
// racing for the last cents cannot both win: the writer decides one after
// the other), settle() with a commit when the provider accepts it and with a
// refund when it fails for good. A send that is refused after its
// reservation (its conversation's guard, a repeat) is refunded at once. A
// crash between the two journals leaves a reservation open: after a restart
// the outbox settles each from its message's state (outbox::resume).
//
// Decisions apply in memory at once, under the lock, so the next decision
// sees them; the caller's `done` runs once the movement is durable. Readers
// (the admin API, /metrics) take the shared lock from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <system_error>
#include <vector>

#include "gateway/domain/balance.hpp"
#include "gateway/store/journal.hpp"

namespace gw::domain {

// A balance is kept per tenant and channel.
struct billing_account {
  std::string tenant, channel;
  std::string str() const { return tenant + "/" + channel; }
};

// The balance fell below its channel's low_balance threshold.
struct low_balance_notice {
  billing_account account;
  std::int64_t balance = 0, available = 0, threshold = 0;
};

// An open reservation, for settling after a restart.
struct open_hold {
  billing_account account;
  std::string message_id, to;
  std::int64_t amount = 0;
};

// The journal payload of one movement (record type 3, FORMAT.md).
std::string encode_movement(const billing_account& a, const movement& m);
std::optional<std::pair<billing_account, movement>> decode_movement(std::string_view payload);

class billing_service {
 public:
  // `statement_limit`: movements each account keeps for its statement.
  billing_service(std::string dir, boost::asio::io_context& writer, store::journal_options tuning,
                  std::size_t statement_limit = 10'000);
  ~billing_service();

  // Set before recover(). `threshold(account)`: the account's low-balance
  // threshold now (its channel's low_balance; 0 = none), asked at each
  // movement. `on_low` runs on the writer thread when a durable movement
  // took the available balance below it.
  void set_threshold(std::function<std::int64_t(const billing_account&)> threshold) {
    threshold_ = std::move(threshold);
  }
  void on_low(std::function<void(const low_balance_notice&)> fn) { on_low_ = std::move(fn); }

  // Replays the journal; call once before serving. Returns the movements
  // replayed. Throws on I/O errors or an undecodable record.
  std::size_t recover();
  bool healthy() const noexcept { return journal_ && !journal_->failed(); }

  // Any thread; `done` runs on the writer thread. `short_by` set: refused,
  // nothing changed. `ec`: not recovered yet, or the journal failed (the
  // reservation may or may not survive a restart; the send is refused, and
  // a surviving one is refunded after the restart).
  using reserve_done =
      std::function<void(std::error_code ec, std::optional<insufficient_balance> short_by)>;
  void reserve(billing_account a, std::string message_id, std::string to, std::int64_t amount,
               reserve_done done);

  // Commits (provider accepted) or refunds (failed for good) the message's
  // reservation, if it has an open one. Any thread; `done` (optional) runs on
  // the writer thread once durable, or at once when there was nothing to do.
  void settle(billing_account a, std::string message_id, bool commit,
              std::function<void(std::error_code)> done = {});

  // Credits `amount` (> 0). `key` makes a retried request harmless: a key
  // already credited changes nothing and answers `repeat`.
  using top_up_done =
      std::function<void(std::error_code ec, std::optional<movement> applied, bool repeat)>;
  void top_up(billing_account a, std::int64_t amount, std::string key, top_up_done done);

  // Runs `fn(const balance_ledger*)` (nullptr: the account never had a
  // movement) under the read lock. Any thread.
  template <class Fn>
  auto read(const billing_account& a, Fn&& fn) const {
    std::shared_lock lock(mu_);
    auto it = ledgers_.find(a.str());
    return fn(it == ledgers_.end() ? static_cast<const balance_ledger*>(nullptr)
                                   : it->second.get());
  }

  // Every open reservation now. Any thread.
  std::vector<open_hold> open_holds() const;

  // Prometheus text for /metrics (any thread).
  void write_metrics(std::string& out) const;

 private:
  // Writer thread: decide, apply under the lock, journal, report.
  template <class Decide, class Done>
  void change(const billing_account& a, Decide decide, Done done);
  balance_ledger& ledger(const billing_account& a);  // under the unique lock

  std::string dir_;
  boost::asio::io_context& writer_;
  store::journal_options tuning_;
  std::size_t statement_limit_;
  std::function<std::int64_t(const billing_account&)> threshold_;
  std::function<void(const low_balance_notice&)> on_low_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<balance_ledger>> ledgers_;  // "tenant/channel"
  std::unique_ptr<store::journal> journal_;
};

}  // namespace gw::domain
