// A tenant's prepaid balance on one channel: reserve before sending, commit
// when the provider accepts, refund when the message finally fails, top-ups
// from the admin API. Amounts are integer minor units (cents), never floating
// point. Plain data with no threads: the owner (one shard) serialises calls,
// and the journal replays the same movements through the same apply().
//
// Invariants, after every apply():
//   balance   = sum(top-ups) - sum(commits)          (money not yet spent)
//   reserved  = sum of the open reservations          (held for queued messages)
//   available = balance - reserved >= 0               (never overdrawn)
// A reservation is opened once per message id and closed once, by a commit
// or a refund; repeating any of these for the same id changes nothing (the
// ledger remembers the latest closed_memory closed ids: message ids are
// never reused, so this only guards against a late repeat).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "protocol/text_hash.hpp"

namespace gw::domain {

struct movement {
  enum class kind : std::uint8_t { top_up = 1, reserve = 2, commit = 3, refund = 4 };
  kind type = kind::top_up;
  std::int64_t amount = 0;  // > 0, in minor units
  std::string ref;          // reserve/commit/refund: the message id; top-up: its idempotency key
  std::string to;           // reserve: the recipient's address (the message's conversation)
  std::int64_t at_ms = 0;
  std::uint64_t seq = 0;           // filled in by apply(): 1, 2, 3, ... per ledger
  std::int64_t balance_after = 0;  // filled in by apply()
  std::int64_t available_after = 0;

  bool operator==(const movement&) const = default;
};
std::string_view name_of(movement::kind k) noexcept;

struct insufficient_balance {
  std::int64_t available = 0;  // what could be reserved now
  std::int64_t needed = 0;
};

class balance_ledger {
 public:
  // `statement_limit`: movements kept for statement(); older ones are only
  // in the journal. `low_threshold`: apply() reports crossing below it.
  explicit balance_ledger(std::size_t statement_limit = 10'000, std::int64_t low_threshold = 0)
      : statement_limit_(statement_limit), low_threshold_(low_threshold) {}

  // The movement to journal, or why not. Decisions do not change the
  // ledger: apply() the movement before the next decision (the owner does
  // both on one thread, so concurrent senders can never overdraw).
  // nullopt: nothing to do (the same id was reserved, committed or refunded).
  std::variant<std::optional<movement>, insufficient_balance> reserve(
      std::string_view message_id, std::int64_t amount, std::int64_t now_ms,
      std::string_view to = {}) const;
  std::optional<movement> commit(std::string_view message_id, std::int64_t now_ms) const;
  std::optional<movement> refund(std::string_view message_id, std::int64_t now_ms) const;
  // nullopt when `key` was already credited (a retried top-up request).
  std::optional<movement> top_up(std::int64_t amount, std::string_view key,
                                 std::int64_t now_ms) const;

  // Applies a decided (or replayed) movement; fills in its *_after fields.
  // Returns true when `available` went from >= low_threshold to below it.
  // A movement that does not fit the state (a replayed commit of an unknown
  // reservation) is ignored and returns false.
  bool apply(movement& m);

  std::int64_t balance() const noexcept { return balance_; }
  std::int64_t reserved() const noexcept { return reserved_; }
  std::int64_t available() const noexcept { return balance_ - reserved_; }
  std::int64_t low_threshold() const noexcept { return low_threshold_; }
  void set_low_threshold(std::int64_t t) noexcept { low_threshold_ = t; }
  // The held amount of an open reservation, if any.
  std::optional<std::int64_t> held(std::string_view message_id) const;
  struct hold {
    std::int64_t amount = 0;
    std::string to;
  };
  // Every open reservation, by message id.
  template <class Fn>
  void for_each_hold(Fn&& fn) const {
    for (const auto& [id, h] : open_) fn(id, h);
  }
  // The latest movements, oldest first.
  const std::deque<movement>& statement() const noexcept { return statement_; }
  std::uint64_t movements() const noexcept { return movements_; }

 private:
  using id_set = protocol::text_set;

  std::int64_t balance_ = 0;
  std::int64_t reserved_ = 0;
  static constexpr std::size_t closed_memory = 65'536;
  protocol::text_map<hold> open_;
  id_set closed_;  // the latest message ids whose reservation was committed or refunded
  std::deque<std::string> closed_order_;  // closed_, oldest first
  id_set top_ups_;                        // top-up keys already credited
  std::deque<movement> statement_;
  std::size_t statement_limit_;
  std::int64_t low_threshold_;
  std::uint64_t movements_ = 0;
};

}  // namespace gw::domain
