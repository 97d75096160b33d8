// Reading provider_sim's JSON configuration, field by field.
#include "bench/load/provider_sim/sim_config.hpp"

#include <boost/json.hpp>
#include <functional>
#include <map>

namespace gw::sim {

namespace json = boost::json;

namespace {

// Reads the members of one object through a table of known names; an
// unknown member or a wrong type names its path.
class reader {
 public:
  reader(const json::value& v, std::string path) : path_(std::move(path)) {
    obj_ = v.if_object();
    if (!obj_) throw config_error(path_ + ": expected an object");
  }

  reader& text(std::string_view key, std::string& out) {
    return field(key, [&](const json::value& v, const std::string& at) {
      if (!v.is_string()) throw config_error(at + ": expected a string");
      out = std::string(v.get_string());
    });
  }
  reader& number(std::string_view key, unsigned& out, unsigned max) {
    return field(key, [&](const json::value& v, const std::string& at) {
      if (!v.is_int64() || v.get_int64() < 0 || v.get_int64() > max)
        throw config_error(at + ": expected an integer in [0, " + std::to_string(max) + "]");
      out = static_cast<unsigned>(v.get_int64());
    });
  }
  reader& share(std::string_view key, double& out) {
    return field(key, [&](const json::value& v, const std::string& at) {
      double d = v.is_double() ? v.get_double() : v.is_int64() ? double(v.get_int64()) : -1;
      if (d < 0 || d > 1) throw config_error(at + ": expected a number in [0, 1]");
      out = d;
    });
  }
  reader& flag(std::string_view key, bool& out) {
    return field(key, [&](const json::value& v, const std::string& at) {
      if (!v.is_bool()) throw config_error(at + ": expected true or false");
      out = v.get_bool();
    });
  }
  reader& any(std::string_view key,
              std::function<void(const json::value&, const std::string&)> fn) {
    return field(key, std::move(fn));
  }
  // Every member must have been read by now.
  void done() const {
    for (const auto& kv : *obj_)
      if (!seen_.contains(std::string(kv.key())))
        throw config_error(path_ + "." + std::string(kv.key()) + ": unknown field");
  }

 private:
  template <class Fn>
  reader& field(std::string_view key, Fn fn) {
    seen_.emplace(key, true);
    if (auto* v = obj_->if_contains(key)) fn(*v, path_ + "." + std::string(key));
    return *this;
  }
  const json::object* obj_;
  std::string path_;
  std::map<std::string, bool, std::less<>> seen_;
};

template <class T, class Fn>
void read_array(const json::value& v, const std::string& at, std::vector<T>& out, Fn read_one) {
  if (!v.is_array()) throw config_error(at + ": expected an array");
  std::size_t i = 0;
  for (const auto& item : v.get_array()) {
    T t;
    read_one(item, at + "[" + std::to_string(i++) + "]", t);
    out.push_back(std::move(t));
  }
}

void require(const std::string& value, const std::string& at) {
  if (value.empty()) throw config_error(at + ": required");
}

}  // namespace

config parse_config(std::string_view json_text) {
  json::error_code ec;
  auto root = json::parse(json_text, ec);
  if (ec) throw config_error("config: not JSON: " + ec.message());
  config c;
  std::string idempotency = "honour";
  reader(root, "config")
      .text("listen", c.listen)
      .number("duration_s", c.duration_s, 3600)
      .text("idempotency", idempotency)
      .any("whatsapp",
           [&](const json::value& v, const std::string& at) {
             read_array(v, at, c.whatsapp,
                        [](const json::value& item, const std::string& p, whatsapp_number& n) {
                          reader(item, p)
                              .text("phone_number_id", n.phone_number_id)
                              .text("access_token", n.access_token)
                              .text("app_secret", n.app_secret)
                              .text("webhook_url", n.webhook_url)
                              .number("messages_per_second", n.messages_per_second, 1'000'000)
                              .number("pair_interval_ms", n.pair_interval_ms, 3'600'000)
                              .number("pair_burst", n.pair_burst, 1000)
                              .done();
                          require(n.phone_number_id, p + ".phone_number_id");
                          require(n.access_token, p + ".access_token");
                          if (!n.webhook_url.empty()) require(n.app_secret, p + ".app_secret");
                        });
           })
      .any("twilio",
           [&](const json::value& v, const std::string& at) {
             read_array(v, at, c.twilio,
                        [](const json::value& item, const std::string& p, twilio_account& a) {
                          reader(item, p)
                              .text("account_sid", a.account_sid)
                              .text("auth_token", a.auth_token)
                              .number("messages_per_second", a.messages_per_second, 1'000'000)
                              .done();
                          require(a.account_sid, p + ".account_sid");
                          require(a.auth_token, p + ".auth_token");
                        });
           })
      .any("faults",
           [&](const json::value& v, const std::string& at) {
             auto& f = c.faults;
             unsigned seed = 1;
             reader(v, at)
                 .number("latency_ms", f.latency_ms, 600'000)
                 .number("latency_jitter_ms", f.latency_jitter_ms, 600'000)
                 .share("error_5xx", f.error_5xx)
                 .share("timeout", f.timeout)
                 .share("timeout_after_send", f.timeout_after_send)
                 .share("drop", f.drop)
                 .share("throttle_429", f.throttle_429)
                 .share("reject", f.reject)
                 .number("burst_429_every_ms", f.burst_429_every_ms, 3'600'000)
                 .number("burst_429_length_ms", f.burst_429_length_ms, 3'600'000)
                 .number("seed", seed, 1u << 31)
                 .done();
             f.seed = seed;
             if (f.error_5xx + f.timeout + f.timeout_after_send + f.drop + f.throttle_429 +
                     f.reject >
                 1)
               throw config_error(at + ": the fault shares add up to more than 1");
           })
      .any("statuses",
           [&](const json::value& v, const std::string& at) {
             auto& s = c.statuses;
             unsigned code = static_cast<unsigned>(s.failed_code);
             reader(v, at)
                 .flag("enabled", s.enabled)
                 .number("sent_ms", s.sent_ms, 3'600'000)
                 .number("delivered_ms", s.delivered_ms, 3'600'000)
                 .number("read_ms", s.read_ms, 3'600'000)
                 .share("failed", s.failed)
                 .number("failed_code", code, 10'000'000)
                 .number("batch", s.batch, 1000)
                 .number("connections", s.connections, 256)
                 .number("retries", s.retries, 100)
                 .done();
             s.failed_code = static_cast<int>(code);
             if (s.batch == 0 || s.connections == 0)
               throw config_error(at + ": batch and connections must be at least 1");
           })
      .done();
  if (idempotency != "honour" && idempotency != "ignore")
    throw config_error("config.idempotency: expected \"honour\" or \"ignore\"");
  c.honour_idempotency = idempotency == "honour";
  if (c.duration_s == 0) throw config_error("config.duration_s: must be at least 1");
  return c;
}

}  // namespace gw::sim
