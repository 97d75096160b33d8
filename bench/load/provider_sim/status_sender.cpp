// Scheduling, batching, signing and posting provider_sim's status webhooks.
#include "bench/load/provider_sim/status_sender.hpp"

#include <array>
#include <chrono>

#include "protocol/signatures.hpp"
#include "protocol/twilio_webhook.hpp"

namespace gw::sim {

using protocol::nanos;
constexpr nanos ms = 1'000'000;

namespace {

nanos now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string unix_seconds() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

net::client_options webhook_client(const config& c) {
  net::client_options o;
  o.max_connections_per_origin = c.statuses.connections;
  o.max_waiting_per_origin = 1'000'000;  // the schedule is bounded by the sends themselves
  o.request_timeout = std::chrono::milliseconds(10'000);
  return o;
}

}  // namespace

std::pair<std::string, std::string> split_url(const std::string& url) {
  auto scheme = url.find("://");
  auto slash = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
  if (slash == std::string::npos) return {url, "/"};
  return {url.substr(0, slash), url.substr(slash)};
}

status_sender::status_sender(boost::asio::io_context& ioc, const config& c, sim_core& core)
    : ioc_(ioc),
      cfg_(c),
      core_(core),
      pool_(ioc, webhook_client(c)),
      timer_(ioc),
      rng_(c.faults.seed * 7919 + 1) {}

void status_sender::whatsapp_sent(const whatsapp_number& n, const std::string& wamid,
                                  const std::string& recipient, const std::string& opaque) {
  if (!cfg_.statuses.enabled || n.webhook_url.empty()) return;
  plan(std::make_shared<const message>(
      message{api::whatsapp, &n, wamid, recipient, n.phone_number_id, opaque}));
}

void status_sender::twilio_sent(const twilio_account& a, const std::string& sid,
                                const std::string& from, const std::string& to,
                                const std::string& callback_url) {
  if (!cfg_.statuses.enabled || callback_url.empty()) return;
  plan(std::make_shared<const message>(message{api::twilio, &a, sid, to, from, callback_url}));
}

std::string_view status_sender::name_of(state s) {
  static constexpr std::array<std::string_view, states> names{"sent", "failed", "delivered",
                                                              "read"};
  return names[static_cast<std::size_t>(s)];
}

// sent, then failed or delivered (and read), each at its configured delay.
void status_sender::plan(std::shared_ptr<const message> m) {
  const auto& st = cfg_.statuses;
  auto t0 = now_ns();
  bool fails = st.failed > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < st.failed;
  at(t0 + nanos(st.sent_ms) * ms, {m, state::sent});
  if (fails) return at(t0 + nanos(st.sent_ms) * ms, {std::move(m), state::failed});
  if (st.delivered_ms) at(t0 + nanos(st.delivered_ms) * ms, {m, state::delivered});
  if (st.read_ms) at(t0 + nanos(st.read_ms) * ms, {std::move(m), state::read});
}

void status_sender::at(nanos when, status s) {
  due_[static_cast<std::size_t>(s.st)].emplace_back(when, std::move(s));
  arm();
}

std::deque<std::pair<nanos, status_sender::status>>* status_sender::next_due(nanos now) {
  std::deque<std::pair<nanos, status>>* first = nullptr;
  for (auto& q : due_)  // in state order: of two due at once, the earlier state first
    if (!q.empty() && q.front().first <= now && (!first || q.front().first < first->front().first))
      first = &q;
  return first;
}

void status_sender::arm() {
  if (closed_ || armed_) return;
  nanos next = -1;
  for (const auto& q : due_)
    if (!q.empty() && (next < 0 || q.front().first < next)) next = q.front().first;
  if (!retry_.empty() && (next < 0 || retry_.begin()->first < next)) next = retry_.begin()->first;
  if (next < 0) return;
  armed_ = true;
  timer_.expires_after(std::chrono::nanoseconds(std::max<nanos>(next - now_ns(), 0)));
  timer_.async_wait([this](boost::system::error_code ec) {
    armed_ = false;
    if (!ec) flush();
  });
}

void status_sender::flush() {
  auto now = now_ns();
  // WhatsApp: everything due for one number goes in batches of `batch`.
  std::map<const void*, std::vector<status>> wa;
  while (auto* q = next_due(now)) {
    auto s = std::move(q->front().second);
    q->pop_front();
    if (s.m->provider == api::whatsapp) {
      auto& batch = wa[s.m->sender];
      batch.push_back(std::move(s));
      if (batch.size() == cfg_.statuses.batch) {
        post(whatsapp_batch(*static_cast<const whatsapp_number*>(batch.front().m->sender), batch));
        batch.clear();
      }
    } else {
      post(twilio_callback(*static_cast<const twilio_account*>(s.m->sender), s));
    }
  }
  for (auto& [sender, batch] : wa)
    if (!batch.empty()) post(whatsapp_batch(*static_cast<const whatsapp_number*>(sender), batch));
  while (!retry_.empty() && retry_.begin()->first <= now) {
    auto d = std::move(retry_.begin()->second);
    retry_.erase(retry_.begin());
    post(std::move(d));
  }
  arm();
}

// Written out directly rather than built as a JSON tree: the simulator shares
// the cores with the gateway it measures.
status_sender::delivery status_sender::whatsapp_batch(const whatsapp_number& n,
                                                      const std::vector<status>& batch) {
  auto ts = unix_seconds();
  std::string body;
  body.reserve(300 + batch.size() * 160);
  body += R"({"object":"whatsapp_business_account","entry":[{"id":"100000000000000","changes":[)";
  body += R"({"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":)";
  body += R"("15550000000","phone_number_id":)";
  append_json_string(body, n.phone_number_id);
  body += R"(},"statuses":[)";
  for (const auto& s : batch) {
    if (&s != &batch.front()) body += ',';
    body += R"({"id":)";
    append_json_string(body, s.m->id);
    body += R"(,"status":")";
    body += name_of(s.st);
    body += R"(","timestamp":")";
    body += ts;
    body += R"(","recipient_id":)";
    append_json_string(body, s.m->recipient);
    if (!s.m->extra.empty()) {
      body += R"(,"biz_opaque_callback_data":)";
      append_json_string(body, s.m->extra);
    }
    if (s.st == state::failed) {
      body += R"(,"errors":[{"code":)";
      body += std::to_string(cfg_.statuses.failed_code);
      body += R"(,"title":"Message undeliverable.","message":"Message undeliverable.",)";
      body += R"("error_data":{"details":"Message could not be delivered (simulated)."}}])";
    }
    body += '}';
  }
  body += R"(]},"field":"messages"}]}]})";
  delivery d{api::whatsapp, &n, n.webhook_url, {}, 0, batch.size()};
  d.call.headers = {{"Content-Type", "application/json"},
                    {"X-Hub-Signature-256", protocol::meta_signature(n.app_secret, body)}};
  d.call.body = std::move(body);
  return d;
}

status_sender::delivery status_sender::twilio_callback(const twilio_account& a, const status& s) {
  std::string name(name_of(s.st));
  const auto& m = *s.m;
  protocol::form_params p{
      {"AccountSid", a.account_sid}, {"ApiVersion", "2010-04-01"}, {"From", m.from},
      {"MessageSid", m.id},          {"MessageStatus", name},      {"SmsSid", m.id},
      {"SmsStatus", name},           {"To", m.recipient}};
  if (s.st == state::failed) {
    p.emplace_back("ErrorCode", std::to_string(cfg_.statuses.failed_code));
    p.emplace_back("ErrorMessage", "Unreachable destination handset (simulated)");
  }
  delivery d{api::twilio, &a, m.extra, {}, 0, 1};
  d.call.body = protocol::encode_form(p);
  d.call.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                    {"X-Twilio-Signature", protocol::twilio_signature(a.auth_token, m.extra, p)}};
  return d;
}

void status_sender::post(delivery d) {
  if (closed_) return;
  auto [base, target] = split_url(d.url);
  auto where = net::parse_origin(base);
  if (!where) {
    core_.count_webhook("bad_url");
    return;
  }
  auto call = d.call;
  call.target = target;
  core_.count_webhook("requests");
  pool_.request(*where, std::move(call), [this, d = std::move(d)](net::client_result r) mutable {
    if (r.error.empty() && r.reply.status >= 200 && r.reply.status < 300) {
      core_.count_webhook("statuses_delivered", d.statuses);
      return;
    }
    if (closed_) return;
    if (++d.attempt > cfg_.statuses.retries) {
      core_.count_webhook("gave_up");
      core_.count_webhook("statuses_lost", d.statuses);
      return;
    }
    core_.count_webhook("retries");
    auto backoff = nanos(50) * ms << std::min(d.attempt, 6u);
    retry_.emplace(now_ns() + backoff, std::move(d));
    arm();
  });
}

void status_sender::close() {
  closed_ = true;
  timer_.cancel();
  pool_.close();
}

}  // namespace gw::sim
