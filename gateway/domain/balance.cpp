// The prepaid balance ledger: decisions and the one apply().
#include "gateway/domain/balance.hpp"

namespace gw::domain {

std::string_view name_of(movement::kind k) noexcept {
  switch (k) {
    case movement::kind::top_up:
      return "top_up";
    case movement::kind::reserve:
      return "reserve";
    case movement::kind::commit:
      return "commit";
    case movement::kind::refund:
      return "refund";
  }
  return "unknown";
}

namespace {

movement make(movement::kind k, std::int64_t amount, std::string_view ref, std::int64_t now_ms) {
  movement m;
  m.type = k;
  m.amount = amount;
  m.ref = std::string(ref);
  m.at_ms = now_ms;
  return m;
}

}  // namespace

std::variant<std::optional<movement>, insufficient_balance> balance_ledger::reserve(
    std::string_view message_id, std::int64_t amount, std::int64_t now_ms,
    std::string_view to) const {
  if (open_.contains(message_id) || closed_.contains(message_id)) return std::optional<movement>{};
  if (amount > available()) return insufficient_balance{available(), amount};
  auto m = make(movement::kind::reserve, amount, message_id, now_ms);
  m.to = std::string(to);
  return std::optional<movement>{std::move(m)};
}

std::optional<movement> balance_ledger::commit(std::string_view message_id,
                                               std::int64_t now_ms) const {
  auto it = open_.find(message_id);
  if (it == open_.end()) return std::nullopt;
  return make(movement::kind::commit, it->second.amount, message_id, now_ms);
}

std::optional<movement> balance_ledger::refund(std::string_view message_id,
                                               std::int64_t now_ms) const {
  auto it = open_.find(message_id);
  if (it == open_.end()) return std::nullopt;
  return make(movement::kind::refund, it->second.amount, message_id, now_ms);
}

std::optional<movement> balance_ledger::top_up(std::int64_t amount, std::string_view key,
                                               std::int64_t now_ms) const {
  if (amount <= 0 || top_ups_.contains(key)) return std::nullopt;
  return make(movement::kind::top_up, amount, key, now_ms);
}

std::optional<std::int64_t> balance_ledger::held(std::string_view message_id) const {
  auto it = open_.find(message_id);
  if (it == open_.end()) return std::nullopt;
  return it->second.amount;
}

bool balance_ledger::apply(movement& m) {
  bool was_above = available() >= low_threshold_;
  switch (m.type) {
    case movement::kind::top_up:
      if (m.amount <= 0 || !top_ups_.insert(m.ref).second) return false;
      balance_ += m.amount;
      break;
    case movement::kind::reserve:
      if (m.amount <= 0 || m.amount > available() || open_.contains(m.ref) ||
          closed_.contains(m.ref))
        return false;
      open_.emplace(m.ref, hold{m.amount, m.to});
      reserved_ += m.amount;
      break;
    case movement::kind::commit:
    case movement::kind::refund: {
      auto it = open_.find(m.ref);
      if (it == open_.end() || it->second.amount != m.amount) return false;
      reserved_ -= m.amount;
      if (m.type == movement::kind::commit) balance_ -= m.amount;
      open_.erase(it);
      closed_.insert(m.ref);
      closed_order_.push_back(m.ref);
      if (closed_order_.size() > closed_memory) {
        closed_.erase(closed_order_.front());
        closed_order_.pop_front();
      }
      break;
    }
  }
  m.balance_after = balance_;
  m.available_after = available();
  m.seq = ++movements_;
  statement_.push_back(m);
  if (statement_.size() > statement_limit_) statement_.pop_front();
  return was_above && available() < low_threshold_;
}

}  // namespace gw::domain
