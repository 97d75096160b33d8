// Clinic systems' routes: an automatic send through the agent command
// path, and contact locks through the directory.
#include "gateway/api/automatic_api.hpp"

#include <boost/json.hpp>
#include <memory>

#include "gateway/api/admin_access.hpp"
#include "protocol/agent_frames.hpp"

namespace gw::api {

namespace http = boost::beast::http;
namespace json = boost::json;
using protocol::http_error;

namespace {

// The HTTP answer for an agent protocol error code.
http_error http_of(std::string_view code) {
  if (code == "bad_args" || code == "bad_frame") return http_error::bad_request;
  if (code == "not_found") return http_error::not_found;
  if (code == "forbidden") return http_error::forbidden;
  if (code == "window_closed" || code == "insufficient_balance") return http_error::conflict;
  if (code == "unavailable" || code == "rate_limited") return http_error::unavailable;
  return http_error::internal;
}

// An address in a path: what conversations are keyed by (E.164, or
// Twilio's "whatsapp:+..."), without '/' or control characters.
bool valid_address(std::string_view a) {
  if (a.empty() || a.size() > protocol::max_name_bytes) return false;
  for (unsigned char ch : a)
    if (ch < 0x21 || ch == 0x7F || ch == '/') return false;
  return true;
}

class routes : public std::enable_shared_from_this<routes> {
 public:
  routes(std::string key, domain::directory_service& dir, const channel_directory& channels,
         agent_commands& commands)
      : gate_(std::move(key), dir, channels), dir_(dir), commands_(commands) {}

  net::handler guarded(admin_handler h) {
    return gate_.guarded_by(shared_from_this(), false, std::move(h));
  }

  void add(net::router& r) {
    r.add(http::verb::post, "/v1/tenants/{tenant}/channels/{channel}/messages",
          guarded([this](const caller&, net::request_context& rc, net::responder answer) {
            auto ch = gate_.channel_of_path(rc, answer);
            if (!ch) return;
            boost::system::error_code ec;
            auto body = json::parse(rc.req.body(), ec);
            auto* o = ec ? nullptr : body.if_object();
            if (!o) return answer.error(http_error::bad_request, "the body must be a JSON object");
            for (const auto& kv : *o)
              if (kv.key() != "to" && kv.key() != "tx" && kv.key() != "tpl" && kv.key() != "key")
                return answer.error(http_error::bad_request,
                                    "unknown field \"" + std::string(kv.key()) + "\"");
            auto* to = o->if_contains("to");
            if (!to || !to->is_string() || !valid_address(to->as_string()))
              return answer.error(http_error::bad_request,
                                  "\"to\" must be the patient's address (E.164, \"+34600111222\")");
            auto* key = o->if_contains("key");
            if (!key || !key->is_string())
              return answer.error(http_error::bad_request,
                                  "\"key\" is required: your idempotency key for this message "
                                  "(1 to 64 bytes), so that a retry never sends it twice");
            // The same checks as an agent's `send` (text length, template
            // arguments, the key as command id): one decoder.
            json::object frame{{"c", "send"},
                               {"id", key->as_string()},
                               {"cv", ch->id + ":" + std::string(to->as_string())}};
            if (auto* tx = o->if_contains("tx")) frame["tx"] = *tx;
            if (auto* tpl = o->if_contains("tpl")) frame["tpl"] = *tpl;
            auto decoded = protocol::decode_command(json::serialize(frame));
            if (auto* f = std::get_if<protocol::decode_failure>(&decoded))
              return answer.error(http_error::bad_request,
                                  f->message.starts_with("\"id\"")
                                      ? "\"key\" must be a string of 1 to 64 bytes"
                                      : f->message);
            auto shared = std::make_shared<net::responder>(std::move(answer));
            commands_.send_automatic(ch->tenant, std::get<protocol::command>(decoded),
                                     [shared](std::string reply) {
                                       auto v = json::parse(reply).as_object();
                                       if (v.at("t") == "err") {
                                         shared->error(http_of(v.at("code").as_string()),
                                                       std::string(v.at("msg").as_string()));
                                         return true;
                                       }
                                       bool dup = v.contains("dup");
                                       json::object out{{"message", v.at("m")}};
                                       if (v.contains("cost")) out["cost"] = v.at("cost");
                                       if (v.contains("sms")) out["sms"] = v.at("sms");
                                       if (dup) out["repeat"] = true;
                                       shared->json(dup ? http::status::ok : http::status::accepted,
                                                    json::serialize(out));
                                       return true;
                                     });
          }));

    r.add(http::verb::get, "/v1/tenants/{tenant}/channels/{channel}/contacts/{address}",
          guarded([this](const caller&, net::request_context& rc, net::responder answer) {
            auto [ch, address] = contact_of_path(rc, answer);
            if (!ch) return;
            bool locked = dir_.read([&](const domain::directory_state& s) {
              return s.auto_locked(ch->tenant, ch->id, address);
            });
            answer.json(http::status::ok, json::serialize(contact_json(*ch, address, locked)));
          }));

    r.add(http::verb::put, "/v1/tenants/{tenant}/channels/{channel}/contacts/{address}",
          guarded([this](const caller&, net::request_context& rc, net::responder answer) {
            auto [ch, address] = contact_of_path(rc, answer);
            if (!ch) return;
            body_reader b(rc.req.body(), {"auto_locked"});
            if (b.ok() && !b.has("auto_locked")) b.fail("\"auto_locked\" is required");
            bool locked = b.flag("auto_locked", false);
            if (!b.ok()) return answer.error(http_error::bad_request, b.problem());
            domain::directory_change c;
            c.what = domain::directory_change::kind::put_contact;
            c.contact = {ch->tenant, ch->id, address, locked};
            auto shared = std::make_shared<net::responder>(std::move(answer));
            auto out = json::serialize(contact_json(*ch, address, locked));
            dir_.submit(std::move(c), [shared, out](std::error_code ec, std::string problem) {
              if (!problem.empty()) return shared->error(http_error::conflict, problem);
              if (ec)
                return shared->error(http_error::unavailable,
                                     "the directory journal cannot write; not acknowledged");
              shared->json(http::status::ok, out);
            });
          }));
  }

 private:
  // The path's channel and address; answers 404 or 400 (null channel) otherwise.
  std::pair<domain::channel_ptr, std::string> contact_of_path(const net::request_context& rc,
                                                              net::responder& answer) {
    auto ch = gate_.channel_of_path(rc, answer);
    if (!ch) return {};
    auto address = std::string(rc.param("address"));
    if (valid_address(address)) return {std::move(ch), std::move(address)};
    answer.error(http_error::bad_request, "the address in the path is malformed");
    return {};
  }

  static json::object contact_json(const channel_config& ch, const std::string& address,
                                   bool locked) {
    return {
        {"tenant", ch.tenant}, {"channel", ch.id}, {"address", address}, {"auto_locked", locked}};
  }

  admin_gate gate_;
  domain::directory_service& dir_;
  agent_commands& commands_;
};

}  // namespace

void add_automatic_routes(net::router& r, std::string admin_key, domain::directory_service& dir,
                          const channel_directory& channels, agent_commands& commands) {
  std::make_shared<routes>(std::move(admin_key), dir, channels, commands)->add(r);
}

}  // namespace gw::api
