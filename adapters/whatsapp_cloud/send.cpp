// WhatsApp Cloud API send request and answer classification.
#include "adapters/whatsapp_cloud/send.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>

#include "adapters/json_text.hpp"

namespace gw::adapters::whatsapp_cloud {

namespace json = boost::json;

namespace {

constexpr std::array media_types{"image", "document", "audio", "video", "sticker"};

bool takes_caption(std::string_view type) {
  return type == "image" || type == "document" || type == "video";
}

std::variant<json::object, build_error> media_object(const outbound_message& m) {
  const auto& md = m.media;
  if (std::find(media_types.begin(), media_types.end(), md.type) == media_types.end())
    return build_error{"media.type must be one of image, document, audio, video, sticker"};
  if (md.id.empty() == md.link.empty())
    return build_error{"media needs exactly one of id and link"};
  json::object o;
  if (!md.id.empty())
    o["id"] = md.id;
  else
    o["link"] = md.link;
  if (!m.text.empty()) {
    if (!takes_caption(md.type)) return build_error{md.type + " messages take no caption"};
    o["caption"] = m.text;
  }
  if (!md.filename.empty()) {
    if (md.type != "document") return build_error{"only documents take a filename"};
    o["filename"] = md.filename;
  }
  return o;
}

std::variant<json::object, build_error> template_object(const outbound_message& m) {
  const auto& t = m.templ;
  if (t.name.empty()) return build_error{"template.name is empty"};
  if (t.language.empty()) return build_error{"template.language is empty"};
  json::object o{{"name", t.name}, {"language", {{"code", t.language}}}};
  if (!t.body.empty()) {
    bool named = !t.body.front().first.empty();
    json::array params;
    for (const auto& [name, value] : t.body) {
      if (name.empty() == named)
        return build_error{"template.body mixes named and positional variables"};
      json::object p{{"type", "text"}, {"text", value}};
      if (named) p["parameter_name"] = name;
      params.push_back(std::move(p));
    }
    o["components"] =
        json::array{json::object{{"type", "body"}, {"parameters", std::move(params)}}};
  }
  return o;
}

// The error object of a Graph API answer, or nullptr.
const json::object* error_of(const json::value& v) {
  auto* root = v.if_object();
  if (!root) return nullptr;
  auto* e = root->if_contains("error");
  return e ? e->if_object() : nullptr;
}

send_result classify_error(unsigned status, const json::object* err) {
  if (!err) return by_http_status(status);
  auto r = by_http_status(status);
  std::int64_t code = 0;
  if (auto* c = err->if_contains("code"); c && c->is_int64()) code = c->get_int64();
  std::string details;
  if (auto* d = err->if_contains("error_data"); d && d->is_object())
    details = text_at(d->get_object(), "details");
  r.code = std::to_string(code);
  r.reason = r.code + ": " + text_at(*err, "message") + ": " + details;
  switch (code) {
    case codes::pair_rate:
      r.kind = verdict::throttle_recipient;
      break;
    case codes::throughput:
    case codes::rate_limit:
    case codes::app_rate_limit:
      r.kind = verdict::throttle_channel;
      break;
    case 1:       // API unknown
    case 2:       // API service, temporary
    case 131000:  // something went wrong
    case 131016:  // service unavailable
    case 133004:  // server temporarily unavailable
      r.kind = verdict::retry;
      break;
    default:
      break;  // as the HTTP status says; codes::window_closed and the rest are final
  }
  return r;
}

}  // namespace

std::variant<http_call, build_error> build_send(const outbound_message& m, const sender& s) {
  if (m.from.empty()) return build_error{"from (the phone number id) is empty"};
  std::string to = m.to.starts_with('+') ? m.to.substr(1) : m.to;
  if (to.empty()) return build_error{"to is empty"};
  json::object body{
      {"messaging_product", "whatsapp"}, {"recipient_type", "individual"}, {"to", to}};
  switch (m.type) {
    case outbound_message::kind::text:
      if (m.text.empty()) return build_error{"text is empty"};
      body["type"] = "text";
      body["text"] = {{"preview_url", false}, {"body", m.text}};
      break;
    case outbound_message::kind::media: {
      auto o = media_object(m);
      if (auto* e = std::get_if<build_error>(&o)) return *e;
      body["type"] = m.media.type;
      body[m.media.type] = std::get<json::object>(std::move(o));
      break;
    }
    case outbound_message::kind::template_: {
      auto o = template_object(m);
      if (auto* e = std::get_if<build_error>(&o)) return *e;
      body["type"] = "template";
      body["template"] = std::get<json::object>(std::move(o));
      break;
    }
  }
  if (!m.reply_to.empty()) body["context"] = {{"message_id", m.reply_to}};
  if (!m.id.empty()) body["biz_opaque_callback_data"] = m.id;

  http_call c;
  c.target = "/" + s.api_version + "/" + m.from + "/messages";
  c.headers = {{"Authorization", "Bearer " + s.access_token}, {"Content-Type", "application/json"}};
  if (!m.id.empty()) c.headers.emplace_back("Idempotency-Key", m.id);
  c.body = json::serialize(body);
  return c;
}

send_result read_send_reply(const http_reply& r) {
  if (r.status == 0) return no_reply_result();
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  if (r.status >= 200 && r.status < 300) {
    // {"messaging_product":"whatsapp","contacts":[...],"messages":[{"id":"wamid...",...}]}
    const json::object* first = nullptr;
    if (auto* o = ec ? nullptr : v.if_object())
      if (auto* msgs = o->if_contains("messages");
          msgs && msgs->is_array() && !msgs->get_array().empty())
        first = msgs->get_array()[0].if_object();
    send_result out;
    out.provider_id = first ? text_at(*first, "id") : "";
    if (out.provider_id.empty()) return unreadable_reply(r.status, "messages[0].id");
    out.kind = verdict::accepted;
    out.provider_status = text_at(*first, "message_status");
    return out;
  }
  auto out = classify_error(r.status, ec ? nullptr : error_of(v));
  out.retry_after_ms = retry_after_ms(r.retry_after);
  return out;
}

}  // namespace gw::adapters::whatsapp_cloud
