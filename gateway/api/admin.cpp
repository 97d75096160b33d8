// Admin routes: bearer-key check, then the handlers.
#include "gateway/api/admin.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <memory>

#include "protocol/signatures.hpp"

namespace gw::api {

namespace http = boost::beast::http;
using protocol::http_error;

namespace {

// Percent-decodes a path segment ('+' stays '+'); nullopt on a bad escape.
std::optional<std::string> decode_segment(std::string_view s) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// Wraps a handler with the admin key check.
net::handler authorised(std::shared_ptr<const std::string> key, net::handler h) {
  return [key, h = std::move(h)](net::request_context& rc, net::responder answer) {
    if (key->empty())
      return answer.error(http_error::forbidden,
                          "the admin API is off; set admin.key to turn it on");
    auto auth = rc.req[http::field::authorization];
    constexpr std::string_view bearer = "Bearer ";
    if (!auth.starts_with(bearer))
      return answer.error(http_error::unauthorized,
                          "Authorization: Bearer <admin.key> is required");
    if (!protocol::constant_time_equal(auth.substr(bearer.size()), *key))
      return answer.error(http_error::unauthorized, "the bearer key is not admin.key");
    h(rc, std::move(answer));
  };
}

}  // namespace

std::string conversation_json(const domain::conversation& c, std::int64_t now_ms) {
  boost::json::object o;
  o["tenant"] = c.key.tenant;
  o["channel"] = c.key.channel;
  o["address"] = c.key.address;
  o["contact_name"] = c.contact_name;
  o["seq"] = c.seq;
  o["status"] = c.status;
  o["closed"] = c.closed;
  o["last_inbound_ms"] = c.last_inbound_ms;
  o["window_open"] = c.window_open(now_ms);
  o["assignee"] = c.assignee;
  o["team"] = c.team;
  o["messages"] = c.messages;
  o["inbound_ids"] = c.provider_ids.size();
  boost::json::object deliveries;
  for (const auto& [id, d] : c.clinic->deliveries)
    deliveries[id] = {{"message_id", d.message_id},
                      {"status", d.status},
                      {"detail", d.detail},
                      {"at_ms", d.at_ms}};
  o["deliveries"] = std::move(deliveries);
  return boost::json::serialize(o);
}

void add_admin_routes(net::router& r, std::string admin_key, domain::conversation_service& core) {
  auto key = std::make_shared<const std::string>(std::move(admin_key));
  r.add(http::verb::get, "/v1/conversations/{tenant}/{channel}/{address}",
        authorised(key, [&core](net::request_context& rc, net::responder answer) {
          auto address = decode_segment(rc.param("address"));
          if (!address)
            return answer.error(http_error::bad_request, "the address has a bad %-escape");
          domain::conversation_key k{std::string(rc.param("tenant")),
                                     std::string(rc.param("channel")), std::move(*address)};
          auto shared = std::make_shared<net::responder>(std::move(answer));
          core.inspect(k, [shared, name = k.str()](const domain::conversation* c) {
            if (!c) return shared->error(http_error::not_found, "no conversation " + name);
            auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
            shared->json(http::status::ok, conversation_json(*c, now));
          });
        }));
}

}  // namespace gw::api
