// WhatsApp webhook JSON to messages and statuses.
#include "protocol/whatsapp_webhook.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>

namespace gw::protocol {

namespace json = boost::json;

namespace {

// A string field as a view into the document ("" when absent or not a
// string); str() copies it out.
std::string_view view(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key))
    if (auto* s = v->if_string()) return *s;
  return {};
}

std::string str(const json::object& o, std::string_view key) { return std::string(view(o, key)); }

const json::object* obj(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

const json::array* arr(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? v->if_array() : nullptr;
}

std::int64_t timestamp(const json::object& o) { return detail::unix_seconds(view(o, "timestamp")); }

std::string number(const json::value* v) {
  if (!v) return {};
  if (v->is_double()) {  // shortest form that reads back exactly: 40.4168
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v->get_double());
    return ec == std::errc{} ? std::string(buf, end) : std::string{};
  }
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_string()) return std::string(v->get_string());
  return {};
}

void read_content(const json::object& m, wa_message& out) {
  const auto& t = out.type;
  if (t == "text") {
    if (auto* x = obj(m, "text")) out.text = str(*x, "body");
  } else if (t == "image" || t == "document" || t == "audio" || t == "video" || t == "sticker") {
    if (auto* x = obj(m, t)) {
      out.media_id = str(*x, "id");
      out.mime_type = str(*x, "mime_type");
      out.text = str(*x, "caption");
      out.filename = str(*x, "filename");
    }
  } else if (t == "location") {
    if (auto* x = obj(m, "location")) {
      out.text = number(x->if_contains("latitude")) + "," + number(x->if_contains("longitude"));
      auto name = str(*x, "name"), address = str(*x, "address");
      if (!name.empty()) out.text += " " + name;
      if (!address.empty()) out.text += " (" + address + ")";
    }
  } else if (t == "contacts") {
    if (auto* list = arr(m, "contacts"))
      for (const auto& c : *list)
        if (auto* co = c.if_object())
          if (auto* name = obj(*co, "name")) {
            if (!out.text.empty()) out.text += ", ";
            out.text += str(*name, "formatted_name");
          }
  } else if (t == "interactive") {
    if (auto* x = obj(m, "interactive")) {
      auto kind = str(*x, "type");  // button_reply or list_reply
      if (auto* r = obj(*x, kind)) {
        out.reply_id = str(*r, "id");
        out.text = str(*r, "title");
      }
    }
  } else if (t == "button") {
    if (auto* x = obj(m, "button")) {
      out.reply_id = str(*x, "payload");
      out.text = str(*x, "text");
    }
  } else if (t == "reaction") {
    if (auto* x = obj(m, "reaction")) {
      out.reply_id = str(*x, "message_id");
      out.text = str(*x, "emoji");
    }
  } else {
    out.type = "unsupported";  // kept whole in `raw`
  }
}

}  // namespace

std::variant<wa_webhook, webhook_error> parse_whatsapp_webhook(std::string_view body) {
  // Patients write text, most webhooks are one text message: read those
  // without building a document (a third of the parse's instructions).
  if (auto fast = detail::parse_whatsapp_text_fast(body)) return std::move(*fast);
  return detail::parse_whatsapp_webhook_dom(body);
}

std::variant<wa_webhook, webhook_error> detail::parse_whatsapp_webhook_dom(std::string_view body) {
  // The document lives only while we copy fields out of it: allocate it
  // from a stack buffer (heap only for bodies far beyond a typical 1-4 KB).
  unsigned char scratch[8192];
  json::monotonic_resource arena(scratch, sizeof scratch);
  boost::system::error_code ec;
  json::value root = json::parse(body, ec, &arena);
  if (ec) return webhook_error{"body is not valid JSON: " + ec.message()};
  auto* top = root.if_object();
  if (!top) return webhook_error{"body must be a JSON object"};
  if (view(*top, "object") != "whatsapp_business_account")
    return webhook_error{"\"object\" must be \"whatsapp_business_account\""};
  auto* entries = arr(*top, "entry");
  if (!entries) return webhook_error{"\"entry\" must be an array"};

  wa_webhook out;
  for (const auto& e : *entries) {
    auto* entry = e.if_object();
    if (!entry) return webhook_error{"every entry must be an object"};
    auto* changes = arr(*entry, "changes");
    if (!changes) return webhook_error{"entry.changes must be an array"};
    for (const auto& c : *changes) {
      auto* change = c.if_object();
      if (!change) return webhook_error{"every change must be an object"};
      auto* value = obj(*change, "value");
      if (view(*change, "field") != "messages" || !value) {
        ++out.ignored_changes;
        continue;
      }
      std::string number_id;
      if (auto* meta = obj(*value, "metadata")) number_id = str(*meta, "phone_number_id");
      if (number_id.empty()) return webhook_error{"value.metadata.phone_number_id is missing"};

      auto* contacts = arr(*value, "contacts");
      if (auto* messages = arr(*value, "messages")) {
        for (const auto& mv : *messages) {
          auto* m = mv.if_object();
          if (!m) return webhook_error{"every message must be an object"};
          wa_message msg;
          msg.phone_number_id = number_id;
          msg.from = str(*m, "from");
          msg.id = str(*m, "id");
          msg.type = str(*m, "type");
          if (msg.from.empty() || msg.id.empty() || msg.type.empty())
            return webhook_error{"every message needs string \"from\", \"id\" and \"type\""};
          msg.timestamp = timestamp(*m);
          if (auto* ctx = obj(*m, "context")) msg.context_id = str(*ctx, "id");
          if (contacts)
            for (const auto& cv : *contacts)
              if (auto* co = cv.if_object(); co && view(*co, "wa_id") == msg.from)
                if (auto* profile = obj(*co, "profile")) msg.contact_name = str(*profile, "name");
          read_content(*m, msg);
          // A text message says all it has in the fields above; serializing
          // it again cost a seventh of the parse for nothing.
          if (msg.type != "text") msg.raw = json::serialize(mv);
          out.messages.push_back(std::move(msg));
        }
      }
      if (auto* statuses = arr(*value, "statuses")) {
        for (const auto& sv : *statuses) {
          auto* s = sv.if_object();
          if (!s) return webhook_error{"every status must be an object"};
          wa_status st;
          st.phone_number_id = number_id;
          st.id = str(*s, "id");
          st.status = str(*s, "status");
          if (st.id.empty() || st.status.empty())
            return webhook_error{"every status needs string \"id\" and \"status\""};
          st.timestamp = timestamp(*s);
          st.recipient_id = str(*s, "recipient_id");
          if (auto* errors = arr(*s, "errors"); errors && !errors->empty())
            if (auto* first = (*errors)[0].if_object()) {
              if (auto* code = first->if_contains("code"); code && code->is_int64())
                st.error_code = code->get_int64();
              st.error_title = str(*first, "title");
              if (auto* data = obj(*first, "error_data")) st.error_details = str(*data, "details");
            }
          out.statuses.push_back(std::move(st));
        }
      }
    }
  }
  return out;
}

}  // namespace gw::protocol
