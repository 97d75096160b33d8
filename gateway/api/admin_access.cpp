// Admin routes' shared checks: the caller, the path, the body.
#include "gateway/api/admin_access.hpp"

#include <algorithm>
#include <chrono>

#include "gateway/api/directory_api.hpp"
#include "protocol/signatures.hpp"

namespace gw::api {

namespace http = boost::beast::http;
namespace json = boost::json;
using protocol::http_error;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

body_reader::body_reader(std::string_view body, std::initializer_list<std::string_view> allowed) {
  boost::system::error_code ec;
  value_ = json::parse(body.empty() ? std::string_view("{}") : body, ec);
  if (ec)
    fail("the body is not JSON: " + ec.message());
  else if (!value_.is_object())
    fail("the body must be a JSON object");
  else
    for (const auto& kv : value_.get_object())
      if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end())
        fail("unknown field \"" + std::string(kv.key()) + "\"");
}

std::string body_reader::text(std::string_view k, bool required, std::size_t max) {
  auto* v = field(k, required);
  if (!v) return {};
  if (!v->is_string() || v->get_string().empty() || v->get_string().size() > max) {
    fail("\"" + std::string(k) + "\" must be a string of 1 to " + std::to_string(max) + " bytes");
    return {};
  }
  return std::string(v->get_string());
}

bool body_reader::flag(std::string_view k, bool fallback) {
  auto* v = field(k, false);
  if (!v) return fallback;
  if (!v->is_bool()) fail("\"" + std::string(k) + "\" must be true or false");
  return v->is_bool() ? v->get_bool() : fallback;
}

std::int64_t body_reader::integer(std::string_view k, bool required, std::int64_t min,
                                  std::int64_t max) {
  auto* v = field(k, required);
  if (!v) return 0;
  std::optional<std::int64_t> n;
  if (v->is_int64()) n = v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(max))
    n = static_cast<std::int64_t>(v->get_uint64());
  if (!n || *n < min || *n > max) {
    fail("\"" + std::string(k) + "\" must be an integer from " + std::to_string(min) + " to " +
         std::to_string(max));
    return 0;
  }
  return *n;
}

std::vector<std::string> body_reader::ids(std::string_view k) {
  std::vector<std::string> out;
  auto* v = field(k, false);
  if (!v) return out;
  auto* a = v->if_array();
  if (!a) {
    fail("\"" + std::string(k) + "\" must be an array of ids");
    return out;
  }
  for (const auto& e : *a) {
    if (!e.is_string() || !domain::valid_directory_id(e.get_string())) {
      fail("\"" + std::string(k) + "\" must hold ids of 1 to 64 characters [A-Za-z0-9._-]");
      return out;
    }
    std::string s(e.get_string());
    if (std::find(out.begin(), out.end(), s) != out.end()) {
      fail("\"" + std::string(k) + "\" names \"" + s + "\" twice");
      return out;
    }
    out.push_back(std::move(s));
  }
  return out;
}

const json::value* body_reader::field(std::string_view k, bool required) {
  if (!ok()) return nullptr;
  auto* v = value_.get_object().if_contains(k);
  if (!v && required) fail("\"" + std::string(k) + "\" is required");
  return v;
}

net::handler admin_gate::guarded(bool operator_only, admin_handler h) const {
  return [this, operator_only, h = std::move(h)](net::request_context& rc, net::responder answer) {
    auto auth = rc.req[http::field::authorization];
    constexpr std::string_view bearer = "Bearer ";
    if (!auth.starts_with(bearer))
      return answer.error(
          http_error::unauthorized,
          "Authorization: Bearer <admin.key or an admin agent's token> is required");
    auto secret = auth.substr(bearer.size());
    if (!key_.empty() && protocol::constant_time_equal(secret, key_))
      return h(caller{}, rc, std::move(answer));
    auto tenant = dir_.read([&](const domain::directory_state& s) -> std::optional<std::string> {
      auto* t = s.live_token_by_hash(token_hash(secret));
      auto* a = t ? s.agent(t->tenant, t->agent) : nullptr;
      if (!a || a->role != domain::agent_role::admin) return std::nullopt;
      return a->tenant;
    });
    if (!tenant)
      return answer.error(http_error::unauthorized,
                          "the bearer key is neither admin.key nor a live admin agent's token");
    if (operator_only)
      return answer.error(http_error::forbidden, "only the operator (admin.key) may do this");
    caller c{std::move(*tenant)};
    if (!c.may_manage(rc.param("tenant")))
      return answer.error(http_error::forbidden, "an admin agent manages its own tenant only");
    h(c, rc, std::move(answer));
  };
}

bool admin_gate::tenant_exists(std::string_view t, net::responder& answer) const {
  if (dir_.read([&](const auto& s) { return s.tenant(t) != nullptr; })) return true;
  answer.error(http_error::not_found, "no tenant \"" + std::string(t) + "\"");
  return false;
}

domain::channel_ptr admin_gate::channel_of_path(const net::request_context& rc,
                                                net::responder& answer) const {
  auto ch = channels_.find(rc.param("channel"));
  if (ch && ch->tenant == rc.param("tenant")) return ch;
  answer.error(http_error::not_found, "no channel \"" + std::string(rc.param("channel")) +
                                          "\" in \"" + std::string(rc.param("tenant")) + "\"");
  return nullptr;
}

}  // namespace gw::api
