// Webhook handlers: verify, parse, map to conversation events, submit, and
// answer when durable.
#include "gateway/api/webhooks.hpp"

#include <boost/json.hpp>
#include <map>

#include "gateway/config/channels.hpp"
#include "gateway/obs/log.hpp"
#include "gateway/obs/metrics.hpp"
#include "protocol/signatures.hpp"
#include "protocol/twilio_webhook.hpp"
#include "protocol/whatsapp_webhook.hpp"

namespace gw::api {

namespace http = boost::beast::http;
using domain::conversation_key;
using domain::event;
using domain::event_kind;
using protocol::http_error;

namespace {

constexpr std::string_view reason_names[] = {"unknown_channel", "bad_signature", "malformed",
                                             "too_large",       "verify_token",  "unavailable"};
static_assert(std::size(reason_names) == webhooks::reason_count);

constexpr http_error reason_errors[] = {http_error::not_found,   http_error::bad_signature,
                                        http_error::bad_request, http_error::payload_too_large,
                                        http_error::forbidden,   http_error::unavailable};

// The largest `timestamp` taken as a time (9999-12-31T23:59:59Z); one past
// it, or none, and the message's window runs from its arrival.
constexpr std::int64_t max_unix_seconds = 253'402'300'799;

// Twilio reads the response as TwiML; an empty <Response/> sends no reply.
constexpr std::string_view empty_twiml =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

// The conversation key of a patient: WhatsApp ids are numbers without '+';
// we keep E.164 with it, so one patient has one address across providers.
std::string whatsapp_address(std::string_view wa_id) { return "+" + std::string(wa_id); }

std::string failure_detail(std::string_view code, std::string_view title,
                           std::string_view details) {
  std::string out(code);
  for (auto part : {title, details})
    if (!part.empty()) {
      out += ": ";
      out += part;
    }
  return out;
}

std::string params_json(const protocol::form_params& params) {
  boost::json::object o;
  for (const auto& [k, v] : params) o[k] = v;
  return boost::json::serialize(o);
}

// Twilio's statuses onto ours: undelivered and canceled are failures; the
// steps before `sent` (queued, accepted, sending, ...) carry no state.
std::string twilio_status_value(std::string_view s) {
  if (s == "undelivered" || s == "canceled") return "failed";
  return std::string(s);
}

}  // namespace

// ---------------------------------------------------------------- directory

domain::channel_ptr channel_directory::find(std::string_view id) const {
  return dir_.read([&](const domain::directory_state& s) { return s.channel(id); });
}

domain::channel_ptr channel_directory::by_number(provider_kind provider,
                                                 std::string_view number) const {
  auto ch = dir_.read([&](const domain::directory_state& s) { return s.channel_by(number); });
  return ch && ch->provider == provider ? ch : nullptr;
}

// ---------------------------------------------------------------- counters

// Events of one request, grouped by conversation in arrival order. Most
// requests name one conversation: the groups are searched in place, and an
// index is built only once a request names more than `scan_limit`.
class webhooks::batch {
 public:
  void add(conversation_key key, event e) { group_of(std::move(key)).push_back(std::move(e)); }
  bool empty() const noexcept { return groups_.empty(); }
  std::vector<std::pair<conversation_key, std::vector<event>>>& groups() noexcept {
    return groups_;
  }

 private:
  static constexpr std::size_t scan_limit = 8;  // Webhooks.OneRequestOfManyPatients... posts 12

  std::vector<event>& group_of(conversation_key key) {
    if (index_.empty()) {
      for (auto& [k, events] : groups_)
        if (k == key) return events;
      if (groups_.size() < scan_limit) return add_group(std::move(key));
      for (std::size_t i = 0; i < groups_.size(); ++i) index_.emplace(groups_[i].first.str(), i);
    }
    auto [it, fresh] = index_.try_emplace(key.str(), groups_.size());
    return fresh ? add_group(std::move(key)) : groups_[it->second].second;
  }
  std::vector<event>& add_group(conversation_key key) {
    return groups_.emplace_back(std::move(key), std::vector<event>{}).second;
  }

  std::map<std::string, std::size_t> index_;  // key.str() -> group, past scan_limit groups
  std::vector<std::pair<conversation_key, std::vector<event>>> groups_;
};

struct webhooks::counters {
  std::string channel;  // label value; "" for requests naming no known channel
  std::array<std::atomic<std::uint64_t>, reason_count> refused{};
  std::atomic<std::uint64_t> messages{0};    // inbound messages stored
  std::atomic<std::uint64_t> statuses{0};    // statuses stored
  std::atomic<std::uint64_t> duplicates{0};  // retries and statuses that changed nothing
  std::atomic<std::uint64_t> ignored{0};     // statuses with no state (queued, accepted, ...)

  void refuse(reason why) noexcept {
    refused[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  }
};

// One request's submits, answered when the last conversation is durable.
struct webhooks::join {
  join(net::responder a, counters& c, std::string body, std::string_view type)
      : answer(std::move(a)), count(c), ok_body(std::move(body)), ok_type(type) {}

  void done(std::error_code ec, std::size_t submitted, const domain::submit_result& r) {
    if (ec == std::errc::resource_unavailable_try_again)
      recovering = true;
    else if (ec)
      failed = true;
    else
      for (const auto& e : r.events)
        (e->ev.kind == event_kind::message_in ? count.messages : count.statuses)
            .fetch_add(1, std::memory_order_relaxed);
    if (!ec) count.duplicates.fetch_add(submitted - r.events.size(), std::memory_order_relaxed);
    if (pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (failed || recovering) {
      count.refuse(reason::unavailable);
      return answer.error(http_error::unavailable,
                          failed ? "the journal cannot write; nothing of this request is "
                                   "acknowledged, retry later"
                                 : "the gateway is recovering its journal; retry shortly");
    }
    answer.text(http::status::ok, std::move(ok_body), ok_type);
  }

  std::atomic<std::size_t> pending{0};
  std::atomic<bool> failed{false}, recovering{false};
  net::responder answer;
  counters& count;
  std::string ok_body;
  std::string_view ok_type;
};

webhooks::webhooks(const channel_directory& channels, domain::conversation_service& core,
                   webhook_options opts)
    : channels_(channels),
      core_(core),
      opts_(std::move(opts)),
      unknown_(std::make_unique<counters>()) {}

webhooks::~webhooks() = default;

webhooks::counters& webhooks::counters_for(const channel_config* ch) const {
  if (!ch) return *unknown_;
  {
    std::shared_lock lock(counters_mu_);
    if (auto it = counters_.find(ch->id); it != counters_.end()) return *it->second;
  }
  std::unique_lock lock(counters_mu_);
  auto& slot = counters_[ch->id];
  if (!slot) {
    slot = std::make_unique<counters>();
    slot->channel = ch->id;
  }
  return *slot;
}

std::uint64_t webhooks::refused(std::string_view channel, reason why) const {
  const auto r = static_cast<std::size_t>(why);
  if (channel.empty()) return unknown_->refused[r].load(std::memory_order_relaxed);
  std::shared_lock lock(counters_mu_);
  auto it = counters_.find(std::string(channel));
  return it == counters_.end() ? 0 : it->second->refused[r].load(std::memory_order_relaxed);
}

void webhooks::refuse(const channel_config* ch, reason why, net::responder& answer,
                      std::string_view message) const {
  counters_for(ch).refuse(why);
  log::debug("webhook refused", {{"channel", ch ? ch->id : std::string("unknown")},
                                 {"reason", reason_names[static_cast<std::size_t>(why)]},
                                 {"message", message}});
  answer.error(reason_errors[static_cast<std::size_t>(why)], message);
}

void webhooks::write_metrics(std::string& out) const {
  // Channels in id order, then requests that named no known channel.
  std::vector<const counters*> all;
  {
    std::shared_lock lock(counters_mu_);
    for (const auto& [id, c] : counters_) all.push_back(c.get());
  }
  all.push_back(unknown_.get());
  auto label = [](const counters& c) {
    return "channel=\"" + (c.channel.empty() ? std::string("unknown") : c.channel) + "\"";
  };
  metrics::write_head(out, "gateway_webhook_refused_total", "counter",
                      "Webhook requests refused, by channel and reason; nothing was stored.");
  for (const auto* c : all)
    for (std::size_t r = 0; r < reason_count; ++r)
      metrics::write_sample(out, "gateway_webhook_refused_total",
                            label(*c) + ",reason=\"" + std::string(reason_names[r]) + "\"",
                            c->refused[r].load(std::memory_order_relaxed));
  metrics::write_head(out, "gateway_webhook_events_total", "counter",
                      "Webhook events made durable, by channel and kind.");
  for (const auto* c : all) {
    if (c->channel.empty()) continue;
    metrics::write_sample(out, "gateway_webhook_events_total", label(*c) + ",kind=\"message\"",
                          c->messages.load(std::memory_order_relaxed));
    metrics::write_sample(out, "gateway_webhook_events_total", label(*c) + ",kind=\"status\"",
                          c->statuses.load(std::memory_order_relaxed));
  }
  metrics::write_head(out, "gateway_webhook_duplicates_total", "counter",
                      "Webhook events answered 200 but not stored again: provider retries, "
                      "statuses that changed nothing.");
  for (const auto* c : all)
    if (!c->channel.empty())
      metrics::write_sample(out, "gateway_webhook_duplicates_total", label(*c),
                            c->duplicates.load(std::memory_order_relaxed));
  metrics::write_head(out, "gateway_webhook_ignored_statuses_total", "counter",
                      "Statuses that carry no delivery state (queued, accepted, sending, ...).");
  for (const auto* c : all)
    if (!c->channel.empty())
      metrics::write_sample(out, "gateway_webhook_ignored_statuses_total", label(*c),
                            c->ignored.load(std::memory_order_relaxed));
}

// ---------------------------------------------------------------- routes

void webhooks::add_routes(net::router& r) {
  auto limits = [this] {
    net::route_options o;
    o.max_body_bytes = opts_.max_body_bytes;
    o.limit_name = "webhooks.max_body_bytes";
    o.on_too_large = [this](const net::request_context& rc) {
      auto ch = channels_.find(rc.param("channel"));
      counters_for(ch.get()).refuse(reason::too_large);
    };
    return o;
  };
  auto bind = [this](void (webhooks::*fn)(net::request_context&, net::responder)) {
    return [this, fn](net::request_context& rc, net::responder answer) {
      (this->*fn)(rc, std::move(answer));
    };
  };
  r.add(http::verb::get, "/webhooks/whatsapp/{channel}", bind(&webhooks::whatsapp_verify));
  r.add(http::verb::post, "/webhooks/whatsapp/{channel}", bind(&webhooks::whatsapp_post), limits());
  r.add(http::verb::post, "/webhooks/twilio/{channel}", bind(&webhooks::twilio_inbound), limits());
  r.add(http::verb::post, "/webhooks/twilio/{channel}/status", bind(&webhooks::twilio_status),
        limits());
}

namespace {
domain::channel_ptr channel_of(const channel_directory& d, const net::request_context& rc,
                               provider_kind kind) {
  auto ch = d.find(rc.param("channel"));
  return ch && ch->provider == kind ? ch : nullptr;
}
}  // namespace

// No such channel: 404, or 503 while the directory is still being loaded
// (the channel may well exist; the provider retries).
void webhooks::refuse_unknown(const net::request_context& rc, provider_kind kind,
                              net::responder& answer) const {
  if (!channels_.ready())
    return refuse(nullptr, reason::unavailable, answer,
                  "the gateway is starting and its channels are not loaded yet; retry");
  refuse(nullptr, reason::unknown_channel, answer,
         "no " + std::string(provider_name(kind)) + " channel \"" +
             std::string(rc.param("channel").substr(0, 64)) + "\"");
}

// Meta's subscription handshake: echo hub.challenge when hub.verify_token
// is the channel's.
void webhooks::whatsapp_verify(net::request_context& rc, net::responder answer) {
  auto ch_ptr = channel_of(channels_, rc, provider_kind::whatsapp);
  if (!ch_ptr) return refuse_unknown(rc, provider_kind::whatsapp, answer);
  const channel_config* ch = ch_ptr.get();
  auto query = protocol::parse_form(rc.query);
  if (!query) return refuse(ch, reason::malformed, answer, "the query string is not well-formed");
  auto get = [&](std::string_view name) -> std::string_view {
    for (const auto& [k, v] : *query)
      if (k == name) return v;
    return {};
  };
  if (get("hub.mode") != "subscribe" || get("hub.challenge").empty())
    return refuse(ch, reason::malformed, answer,
                  "expected hub.mode=subscribe with hub.challenge and hub.verify_token");
  if (!protocol::constant_time_equal(get("hub.verify_token"), ch->verify_token))
    return refuse(ch, reason::verify_token, answer,
                  "hub.verify_token does not match this channel's verify_token");
  log::info("whatsapp webhook subscription verified", {{"channel", ch->id}});
  answer.text(http::status::ok, std::string(get("hub.challenge")), "text/plain");
}

void webhooks::whatsapp_post(net::request_context& rc, net::responder answer) {
  auto ch_ptr = channel_of(channels_, rc, provider_kind::whatsapp);
  if (!ch_ptr) return refuse_unknown(rc, provider_kind::whatsapp, answer);
  const channel_config* ch = ch_ptr.get();
  const auto& body = rc.req.body();
  auto signature = rc.req["X-Hub-Signature-256"];
  if (signature.empty())
    return refuse(ch, reason::bad_signature, answer, "X-Hub-Signature-256 is missing");
  if (!protocol::verify_meta_signature(signature, ch->app_secret, body))
    return refuse(ch, reason::bad_signature, answer,
                  "X-Hub-Signature-256 does not match the body and this channel's app_secret");
  auto parsed = protocol::parse_whatsapp_webhook(body);
  if (auto* err = std::get_if<protocol::webhook_error>(&parsed))
    return refuse(ch, reason::malformed, answer, err->message);
  auto& hook = std::get<protocol::wa_webhook>(parsed);

  // One Meta app posts every number's webhooks to the URL it was given:
  // each message goes to the channel of its phone_number_id, which must be
  // a channel of the same app (same secret) and tenant.
  auto resolve = [&](const std::string& phone_number_id) -> domain::channel_ptr {
    if (phone_number_id.empty() || phone_number_id == ch->phone_number_id) return ch_ptr;
    auto other = channels_.by_number(provider_kind::whatsapp, phone_number_id);
    if (other && other->tenant == ch->tenant && other->app_secret == ch->app_secret) return other;
    return nullptr;
  };
  auto refuse_number = [&](const std::string& phone_number_id) {
    refuse(ch, reason::unknown_channel, answer,
           "phone_number_id \"" + phone_number_id.substr(0, 64) + "\" is not a channel of tenant " +
               ch->tenant);
  };
  batch b;
  auto& count = counters_for(ch);
  for (auto& m : hook.messages) {
    auto target = resolve(m.phone_number_id);
    if (!target) return refuse_number(m.phone_number_id);
    if (m.from.empty() || m.id.empty())
      return refuse(ch, reason::malformed, answer, "a message lacks \"from\" or \"id\"");
    event e;
    e.kind = event_kind::message_in;
    e.provider_id = m.id;
    e.message_id = std::move(m.id);
    if (m.timestamp > 0 && m.timestamp <= max_unix_seconds) e.sent_ms = m.timestamp * 1000;
    e.author = std::move(m.contact_name);
    e.text = std::move(m.text);
    if (m.type != "text") e.detail = std::move(m.raw);
    e.value = std::move(m.type);
    b.add({target->tenant, target->id, whatsapp_address(m.from)}, std::move(e));
  }
  for (auto& s : hook.statuses) {
    auto target = resolve(s.phone_number_id);
    if (!target) return refuse_number(s.phone_number_id);
    if (s.recipient_id.empty() || s.id.empty())
      return refuse(ch, reason::malformed, answer, "a status lacks \"recipient_id\" or \"id\"");
    if (domain::status_rank(s.status) == 0) {
      count.ignored.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    event e;
    e.kind = event_kind::message_status;
    e.provider_id = std::move(s.id);
    e.value = std::move(s.status);
    if (e.value == "failed")
      e.detail = failure_detail(s.error_code ? std::to_string(s.error_code) : "", s.error_title,
                                s.error_details);
    b.add({target->tenant, target->id, whatsapp_address(s.recipient_id)}, std::move(e));
  }
  submit(std::move(b), count, std::move(answer), R"({"status":"ok"})", "application/json");
}

std::string webhooks::twilio_url(const net::request_context& rc) const {
  std::string url = opts_.public_base_url;
  if (url.empty())
    url = std::string(opts_.tls ? "https://" : "http://") + std::string(rc.req[http::field::host]);
  url += rc.req.target();
  return url;
}

// Both Twilio routes start alike: channel, form, signature.
std::optional<protocol::form_params> webhooks::twilio_form(domain::channel_ptr& ch_ptr,
                                                           net::request_context& rc,
                                                           net::responder& answer) {
  ch_ptr = channel_of(channels_, rc, provider_kind::twilio);
  if (!ch_ptr) {
    refuse_unknown(rc, provider_kind::twilio, answer);
    return std::nullopt;
  }
  const channel_config* ch = ch_ptr.get();
  auto signature = rc.req["X-Twilio-Signature"];
  if (signature.empty()) {
    refuse(ch, reason::bad_signature, answer, "X-Twilio-Signature is missing");
    return std::nullopt;
  }
  auto url = twilio_url(rc);
  // Twilio signs a JSON body through its hash in the URL (bodySHA256) and
  // the URL alone. Checked as such, so that a genuine one is told what is
  // wrong with it rather than that its signature is.
  if (protocol::twilio_body_hash(url)) {
    if (!protocol::verify_twilio_body_signature(signature, ch->auth_token, url, rc.req.body())) {
      refuse(ch, reason::bad_signature, answer,
             "X-Twilio-Signature does not match the URL with its bodySHA256 and this channel's "
             "auth_token, or bodySHA256 is not the body's");
      return std::nullopt;
    }
    refuse(ch, reason::malformed, answer,
           "a JSON body (bodySHA256) is not a message or a status callback: this route takes "
           "Twilio's form-encoded messaging webhooks");
    return std::nullopt;
  }
  auto form = protocol::parse_form(rc.req.body());
  if (!form) {
    refuse(ch, reason::malformed, answer,
           "the body is not application/x-www-form-urlencoded (a bad %-escape)");
    return std::nullopt;
  }
  if (!protocol::verify_twilio_signature(signature, ch->auth_token, url, *form)) {
    refuse(ch, reason::bad_signature, answer,
           "X-Twilio-Signature does not match the URL, the parameters and this channel's "
           "auth_token (is webhooks.public_base_url the URL Twilio calls?)");
    return std::nullopt;
  }
  return form;
}

void webhooks::twilio_inbound(net::request_context& rc, net::responder answer) {
  domain::channel_ptr ch_ptr;
  auto form = twilio_form(ch_ptr, rc, answer);
  if (!form) return;
  const channel_config* ch = ch_ptr.get();
  auto parsed = protocol::parse_twilio_inbound(std::move(*form));
  if (auto* err = std::get_if<protocol::webhook_error>(&parsed))
    return refuse(ch, reason::malformed, answer, err->message);
  auto& in = std::get<protocol::twilio_inbound>(parsed);
  if (!ch->account_sid.empty() && in.account_sid != ch->account_sid)
    return refuse(ch, reason::bad_signature, answer,
                  "AccountSid is not this channel's account_sid");
  // One account's numbers may share a URL: a message goes to the channel
  // of the number it was sent `To` when that is a channel of the same tenant
  // and account (auth_token), so its replies leave from that number. A `To`
  // no such channel has stays with the URL's channel: a Messaging Service's
  // pool of numbers answers as one channel.
  const channel_config* target = ch;
  domain::channel_ptr other;
  if (in.to != ch->number) {
    other = channels_.by_number(provider_kind::twilio, in.to);
    if (other && other->tenant == ch->tenant && other->auth_token == ch->auth_token)
      target = other.get();
  }
  event e;
  e.kind = event_kind::message_in;
  e.provider_id = in.message_sid;
  e.message_id = std::move(in.message_sid);
  e.text = std::move(in.body);
  e.value = in.media.empty() ? "sms" : "mms";
  e.detail = params_json(in.params);  // every parameter, known or not
  batch b;
  b.add({target->tenant, target->id, std::move(in.from)}, std::move(e));
  submit(std::move(b), counters_for(ch), std::move(answer), std::string(empty_twiml), "text/xml");
}

void webhooks::twilio_status(net::request_context& rc, net::responder answer) {
  domain::channel_ptr ch_ptr;
  auto form = twilio_form(ch_ptr, rc, answer);
  if (!form) return;
  const channel_config* ch = ch_ptr.get();
  auto parsed = protocol::parse_twilio_status(std::move(*form));
  if (auto* err = std::get_if<protocol::webhook_error>(&parsed))
    return refuse(ch, reason::malformed, answer, err->message);
  auto& st = std::get<protocol::twilio_status>(parsed);
  if (st.to.empty()) return refuse(ch, reason::malformed, answer, "To is required");
  auto& count = counters_for(ch);
  batch b;
  if (auto value = twilio_status_value(st.status); domain::status_rank(value) == 0) {
    count.ignored.fetch_add(1, std::memory_order_relaxed);
  } else {
    event e;
    e.kind = event_kind::message_status;
    e.provider_id = std::move(st.message_sid);
    if (value == "failed")
      e.detail =
          failure_detail(st.error_code, st.status == "failed" ? "" : st.status, st.error_message);
    e.value = std::move(value);
    b.add({ch->tenant, ch->id, std::move(st.to)}, std::move(e));
  }
  submit(std::move(b), count, std::move(answer), {}, "text/plain");
}

void webhooks::submit(batch b, counters& count, net::responder answer, std::string ok_body,
                      std::string_view ok_type) {
  auto& groups = b.groups();
  if (groups.empty()) return answer.text(http::status::ok, std::move(ok_body), ok_type);
  auto j = std::make_shared<join>(std::move(answer), count, std::move(ok_body), ok_type);
  j->pending.store(groups.size(), std::memory_order_relaxed);
  for (auto& [key, events] : groups) {
    auto n = events.size();
    core_.submit(std::move(key), std::move(events),
                 [j, n](std::error_code ec, domain::submit_result r) { j->done(ec, n, r); });
  }
}

}  // namespace gw::api
