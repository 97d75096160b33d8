// Balance admin routes: read, top up, page the statement.
#include "gateway/api/billing_api.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <memory>

#include "gateway/api/admin_access.hpp"
#include "gateway/api/directory_api.hpp"
#include "protocol/twilio_webhook.hpp"

namespace gw::api {

namespace http = boost::beast::http;
namespace json = boost::json;
using domain::balance_ledger;
using domain::billing_account;
using domain::movement;
using protocol::http_error;

namespace {

constexpr std::int64_t max_top_up = 1'000'000'000'000;  // minor units
constexpr std::uint64_t max_statement_page = 1000;

json::object movement_json(const movement& m) {
  json::object o{{"seq", m.seq},
                 {"kind", domain::name_of(m.type)},
                 {"amount", m.amount},
                 {"at_ms", m.at_ms},
                 {"balance_after", m.balance_after},
                 {"available_after", m.available_after}};
  if (m.type == movement::kind::top_up) {
    o["key"] = m.ref;
  } else {
    o["message"] = m.ref;
    if (!m.to.empty()) o["to"] = m.to;
  }
  return o;
}

json::object balance_json(const billing_account& a, const balance_ledger* l, unsigned low_balance) {
  return {{"tenant", a.tenant},
          {"channel", a.channel},
          {"balance", l ? l->balance() : 0},
          {"reserved", l ? l->reserved() : 0},
          {"available", l ? l->available() : 0},
          {"low_balance", low_balance},
          {"movements", l ? l->movements() : 0}};
}

// A decimal query parameter in [0, max]; `fallback` when absent.
std::optional<std::uint64_t> number_param(const protocol::form_params& q, std::string_view name,
                                          std::uint64_t fallback, std::uint64_t max) {
  for (const auto& [k, v] : q)
    if (k == name) {
      std::uint64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n > max) return std::nullopt;
      return n;
    }
  return fallback;
}

class routes : public std::enable_shared_from_this<routes> {
 public:
  routes(std::string key, domain::directory_service& dir, const channel_directory& channels,
         domain::billing_service& billing)
      : gate_(std::move(key), dir, channels), billing_(billing) {}

  net::handler guarded(admin_handler h) {
    return gate_.guarded_by(shared_from_this(), false, std::move(h));
  }

  void add(net::router& r) {
    // GET .../balance: balance, reserved, available, threshold.
    r.add(http::verb::get, "/v1/tenants/{tenant}/channels/{channel}/balance",
          guarded([this](const caller&, net::request_context& rc, net::responder answer) {
            auto ch = gate_.channel_of_path(rc, answer);
            if (!ch) return;
            billing_account a{ch->tenant, ch->id};
            auto body = billing_.read(a, [&](const balance_ledger* l) {
              return json::serialize(balance_json(a, l, ch->low_balance));
            });
            answer.json(http::status::ok, std::move(body));
          }));

    // POST .../balance/top-ups {amount, key?}: credits the balance once per key.
    r.add(http::verb::post, "/v1/tenants/{tenant}/channels/{channel}/balance/top-ups",
          guarded([this](const caller&, net::request_context& rc, net::responder answer) {
            auto ch = gate_.channel_of_path(rc, answer);
            if (!ch) return;
            body_reader b(rc.req.body(), {"amount", "key"});
            auto amount = b.integer("amount", true, 1, max_top_up);
            auto key = b.has("key") ? b.text("key", true, 128) : "tu-" + random_hex(12);
            if (!b.ok()) return answer.error(http_error::bad_request, b.problem());
            billing_account a{ch->tenant, ch->id};
            auto shared = std::make_shared<net::responder>(std::move(answer));
            billing_.top_up(
                a, amount, std::move(key),
                [this, a, shared, low = ch->low_balance](std::error_code ec,
                                                         std::optional<movement> m, bool repeat) {
                  if (ec)
                    return shared->error(http_error::unavailable,
                                         "the balance journal cannot write; the top-up is not "
                                         "acknowledged, retry with the same key");
                  auto o = billing_.read(
                      a, [&](const balance_ledger* l) { return balance_json(a, l, low); });
                  json::object body{{"balance", std::move(o)}};
                  if (m) body["movement"] = movement_json(*m);
                  if (repeat) body["repeat"] = true;
                  shared->json(repeat ? http::status::ok : http::status::created,
                               json::serialize(body));
                });
          }));

    // GET .../balance/statement?after=SEQ&limit=N: movements after SEQ,
    // oldest first, with `next` to page on.
    r.add(http::verb::get, "/v1/tenants/{tenant}/channels/{channel}/balance/statement",
          guarded([this](const caller&, net::request_context& rc, net::responder answer) {
            auto ch = gate_.channel_of_path(rc, answer);
            if (!ch) return;
            auto q = protocol::parse_form(rc.query);
            if (!q) return answer.error(http_error::bad_request, "the query string is malformed");
            auto after = number_param(*q, "after", 0, UINT64_MAX >> 1);
            if (!after)
              return answer.error(http_error::bad_request,
                                  "\"after\" must be a movement's seq (a non-negative integer)");
            auto limit = number_param(*q, "limit", 100, max_statement_page);
            if (!limit || *limit == 0)
              return answer.error(http_error::bad_request, "\"limit\" must be from 1 to 1000");
            billing_account a{ch->tenant, ch->id};
            auto body = billing_.read(a, [&](const balance_ledger* l) {
              auto o = balance_json(a, l, ch->low_balance);
              json::array items;
              std::uint64_t first_kept = 0;
              bool more = false;
              if (l && !l->statement().empty()) {
                const auto& s = l->statement();
                first_kept = s.front().seq;
                // Seqs are consecutive in the kept window: index by arithmetic.
                std::size_t i = *after < first_kept ? 0 : *after - first_kept + 1;
                for (; i < s.size() && items.size() < *limit; ++i)
                  items.push_back(movement_json(s[i]));
                more = i < s.size();
              }
              o["items"] = std::move(items);
              o["next"] = more ? json::value(o["items"].as_array().back().as_object().at("seq"))
                               : json::value(nullptr);
              // Movements before this one are only in the journal.
              o["first_kept"] = first_kept;
              return json::serialize(o);
            });
            answer.json(http::status::ok, std::move(body));
          }));
  }

 private:
  admin_gate gate_;
  domain::billing_service& billing_;
};

}  // namespace

void add_billing_routes(net::router& r, std::string admin_key, domain::directory_service& dir,
                        const channel_directory& channels, domain::billing_service& billing) {
  std::make_shared<routes>(std::move(admin_key), dir, channels, billing)->add(r);
}

}  // namespace gw::api
