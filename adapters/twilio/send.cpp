// Twilio Messages.json request and answer classification.
#include "adapters/twilio/send.hpp"

#include <boost/json.hpp>

#include "adapters/json_text.hpp"

#include "protocol/signatures.hpp"
#include "protocol/twilio_webhook.hpp"

namespace gw::adapters::twilio {

namespace json = boost::json;

namespace {

// Twilio's error body: {"code": 21211, "message": "...", "more_info": "...", "status": 400}.
send_result classify_error(unsigned status, const json::object* err) {
  std::int64_t code = 0;
  if (err)
    if (auto* c = err->if_contains("code"); c && c->is_int64()) code = c->get_int64();
  auto r = by_http_status(status);
  if (code == 0) return r;
  r.code = std::to_string(code);
  r.reason = r.code + ": " + text_at(*err, "message") + ": " + text_at(*err, "more_info");
  if (code == codes::too_many_requests || code == codes::rate_exceeded)
    r.kind = verdict::throttle_channel;
  return r;
}

}  // namespace

std::variant<http_call, build_error> build_send(const outbound_message& m, const account& a) {
  if (a.sid.empty()) return build_error{"the account sid is empty"};
  if (m.from.empty()) return build_error{"from is empty"};
  if (m.to.empty()) return build_error{"to is empty"};
  protocol::form_params p{{"To", m.to}, {"From", m.from}};
  switch (m.type) {
    case outbound_message::kind::text:
      if (m.text.empty()) return build_error{"text is empty"};
      p.emplace_back("Body", m.text);
      break;
    case outbound_message::kind::media:
      if (m.media.link.empty())
        return build_error{"media.link is empty (Twilio takes URLs, not media ids)"};
      if (!m.text.empty()) p.emplace_back("Body", m.text);
      p.emplace_back("MediaUrl", m.media.link);
      break;
    case outbound_message::kind::template_: {
      if (m.templ.name.empty()) return build_error{"template.name (the ContentSid) is empty"};
      p.emplace_back("ContentSid", m.templ.name);
      if (!m.templ.body.empty()) {
        json::object vars;
        std::size_t i = 0;
        for (const auto& [name, value] : m.templ.body)
          vars[name.empty() ? std::to_string(++i) : name] = value;
        p.emplace_back("ContentVariables", json::serialize(vars));
      }
      break;
    }
  }
  if (!a.status_callback.empty()) p.emplace_back("StatusCallback", a.status_callback);

  http_call c;
  c.target = "/2010-04-01/Accounts/" + a.sid + "/Messages.json";
  c.headers = {{"Authorization", "Basic " + protocol::base64(a.sid + ":" + a.auth_token)},
               {"Content-Type", "application/x-www-form-urlencoded"}};
  if (!m.id.empty()) c.headers.emplace_back("Idempotency-Key", m.id);
  c.body = protocol::encode_form(p);
  return c;
}

send_result read_send_reply(const http_reply& r) {
  if (r.status == 0) return no_reply_result();
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (r.status >= 200 && r.status < 300) {
    send_result out;
    out.provider_id = o ? text_at(*o, "sid") : "";
    if (out.provider_id.empty()) return unreadable_reply(r.status, "a sid");
    out.kind = verdict::accepted;
    out.provider_status = text_at(*o, "status");
    return out;
  }
  auto out = classify_error(r.status, o);
  out.retry_after_ms = retry_after_ms(r.retry_after);
  return out;
}

}  // namespace gw::adapters::twilio
