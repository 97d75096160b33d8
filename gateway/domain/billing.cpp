// Prepaid balances: replay, single-writer movements, durable answers.
#include "gateway/domain/billing.hpp"

#include <boost/asio/post.hpp>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "gateway/domain/wire.hpp"
#include "gateway/obs/metrics.hpp"

namespace gw::domain {

namespace {

constexpr std::uint8_t movement_format = 1;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::error_code not_ready() {
  return std::make_error_code(std::errc::resource_unavailable_try_again);
}

}  // namespace

// Format byte, tenant, channel, kind byte, amount, ref, to, at_ms.
std::string encode_movement(const billing_account& a, const movement& m) {
  std::string out;
  out.reserve(32 + a.tenant.size() + a.channel.size() + m.ref.size() + m.to.size());
  out.push_back(static_cast<char>(movement_format));
  wire::put_str(out, a.tenant);
  wire::put_str(out, a.channel);
  out.push_back(static_cast<char>(m.type));
  wire::put_varint(out, static_cast<std::uint64_t>(m.amount));
  wire::put_str(out, m.ref);
  wire::put_str(out, m.to);
  wire::put_varint(out, static_cast<std::uint64_t>(m.at_ms));
  return out;
}

std::optional<std::pair<billing_account, movement>> decode_movement(std::string_view payload) {
  wire::reader r{payload};
  if (r.byte() != movement_format) return std::nullopt;
  billing_account a;
  movement m;
  r.str(a.tenant);
  r.str(a.channel);
  auto kind = r.byte();
  m.amount = static_cast<std::int64_t>(r.varint());
  r.str(m.ref);
  r.str(m.to);
  m.at_ms = static_cast<std::int64_t>(r.varint());
  if (!r.ok || !r.in.empty() || kind < 1 || kind > 4 || m.amount <= 0) return std::nullopt;
  m.type = static_cast<movement::kind>(kind);
  return std::pair{std::move(a), std::move(m)};
}

billing_service::billing_service(std::string dir, boost::asio::io_context& writer,
                                 store::journal_options tuning, std::size_t statement_limit)
    : dir_(std::move(dir)),
      writer_(writer),
      tuning_(std::move(tuning)),
      statement_limit_(statement_limit) {
  tuning_.dir = dir_;
  tuning_.thread_name = "gw-sync-bal";
}

billing_service::~billing_service() = default;

balance_ledger& billing_service::ledger(const billing_account& a) {
  auto& l = ledgers_[a.str()];
  if (!l) l = std::make_unique<balance_ledger>(statement_limit_);
  return *l;
}

std::size_t billing_service::recover() {
  std::filesystem::create_directories(dir_);
  std::size_t n = 0;
  std::unique_lock lock(mu_);
  auto result = store::recover_journal(dir_, 1, [&](const store::record_view& rec) {
    auto d = rec.type == store::record_type::balance ? decode_movement(rec.payload) : std::nullopt;
    if (!d)
      throw std::runtime_error("balance journal record " + std::to_string(rec.lsn) +
                               " is not a balance movement");
    ledger(d->first).apply(d->second);
    ++n;
  });
  journal_ = std::make_unique<store::journal>(writer_, tuning_, result);
  return n;
}

// Writer thread. Decide and apply under one unique lock (decisions are
// cheap and pure), so readers see whole movements.
template <class Decide, class Done>
void billing_service::change(const billing_account& a, Decide decide, Done done) {
  if (!journal_) return done(not_ready(), std::nullopt);
  // Asked before the lock: the threshold comes from the channel directory.
  std::int64_t threshold = threshold_ ? threshold_(a) : 0;
  movement m;
  bool crossed = false;
  {
    std::unique_lock lock(mu_);
    auto& l = ledger(a);
    auto decided = decide(std::as_const(l));  // nullopt: nothing to do
    if (!decided) {
      lock.unlock();
      return done({}, std::nullopt);
    }
    m = std::move(*decided);
    l.set_low_threshold(threshold);
    crossed = l.apply(m);
  }
  auto payload = encode_movement(a, m);
  journal_->append(store::record_type::balance, payload,
                   [this, a, m = std::move(m), crossed, threshold, done = std::move(done)](
                       std::error_code ec, std::uint64_t) mutable {
                     if (!ec && crossed && on_low_)
                       on_low_({a, m.balance_after, m.available_after, threshold});
                     done(ec, std::optional<movement>(std::move(m)));
                   });
}

void billing_service::reserve(billing_account a, std::string message_id, std::string to,
                              std::int64_t amount, reserve_done done) {
  boost::asio::post(writer_, [this, a = std::move(a), id = std::move(message_id),
                              to = std::move(to), amount, done = std::move(done)]() mutable {
    // Set by the decision when refused; read when `done` runs (at once then).
    auto short_by = std::make_shared<std::optional<insufficient_balance>>();
    change(
        a,
        [&](const balance_ledger& l) -> std::optional<movement> {
          auto d = l.reserve(id, amount, wall_ms(), to);
          if (auto* no = std::get_if<insufficient_balance>(&d)) {
            *short_by = *no;
            return std::nullopt;
          }
          return std::get<std::optional<movement>>(std::move(d));
        },
        [short_by, done = std::move(done)](std::error_code ec, std::optional<movement>) {
          done(ec, *short_by);
        });
  });
}

void billing_service::settle(billing_account a, std::string message_id, bool commit,
                             std::function<void(std::error_code)> done) {
  boost::asio::post(writer_, [this, a = std::move(a), id = std::move(message_id), commit,
                              done = std::move(done)]() mutable {
    change(
        a,
        [&](const balance_ledger& l) {
          return commit ? l.commit(id, wall_ms()) : l.refund(id, wall_ms());
        },
        [done = std::move(done)](std::error_code ec, std::optional<movement>) {
          if (done) done(ec);
        });
  });
}

void billing_service::top_up(billing_account a, std::int64_t amount, std::string key,
                             top_up_done done) {
  boost::asio::post(writer_, [this, a = std::move(a), amount, key = std::move(key),
                              done = std::move(done)]() mutable {
    change(
        a, [&](const balance_ledger& l) { return l.top_up(amount, key, wall_ms()); },
        [done = std::move(done)](std::error_code ec, std::optional<movement> m) {
          bool repeat = !ec && !m;
          done(ec, std::move(m), repeat);
        });
  });
}

std::vector<open_hold> billing_service::open_holds() const {
  std::vector<open_hold> out;
  std::shared_lock lock(mu_);
  for (const auto& [key, l] : ledgers_) {
    auto slash = key.find('/');
    billing_account a{key.substr(0, slash), key.substr(slash + 1)};
    l->for_each_hold([&](const std::string& id, const balance_ledger::hold& h) {
      out.push_back({a, id, h.to, h.amount});
    });
  }
  return out;
}

void billing_service::write_metrics(std::string& out) const {
  std::shared_lock lock(mu_);
  auto each = [&](std::string_view name, std::string_view help, auto value) {
    metrics::write_head(out, name, "gauge", help);
    for (const auto& [key, l] : ledgers_) {
      auto slash = key.find('/');
      metrics::write_sample(
          out, name,
          "tenant=\"" + key.substr(0, slash) + "\",channel=\"" + key.substr(slash + 1) + "\"",
          static_cast<std::uint64_t>(value(*l)));
    }
  };
  each("gateway_balance_available", "Prepaid balance free to spend, in minor units.",
       [](const balance_ledger& l) { return l.available(); });
  each("gateway_balance_reserved", "Prepaid balance held for messages not yet sent.",
       [](const balance_ledger& l) { return l.reserved(); });
}

}  // namespace gw::domain
