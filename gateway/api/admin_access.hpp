// What every admin route shares: who is calling (the operator's admin.key
// or an admin agent's token), the path's tenant and channel, and a JSON
// body's fields checked one by one.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/webhooks.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/net/router.hpp"

namespace gw::api {

// Who is calling: the operator (admin.key, every tenant) or an admin agent
// of one tenant.
struct caller {
  std::string tenant;  // "" for the operator
  bool may_manage(std::string_view t) const { return tenant.empty() || tenant == t; }
};

// Unix milliseconds, the gateway clock of records the API creates.
std::int64_t now_ms();

// A request body's fields, checked one by one; the first problem wins.
class body_reader {
 public:
  // Parses `body` as a JSON object whose keys are all in `allowed`.
  body_reader(std::string_view body, std::initializer_list<std::string_view> allowed);

  const std::string& problem() const noexcept { return problem_; }
  bool has(std::string_view k) const { return ok() && value_.get_object().contains(k); }
  bool is_null(std::string_view k) const { return has(k) && value_.get_object().at(k).is_null(); }
  // A string of 1 to `max` bytes.
  std::string text(std::string_view k, bool required, std::size_t max = 200);
  bool flag(std::string_view k, bool fallback);
  // An integer in [min, max].
  std::int64_t integer(std::string_view k, bool required, std::int64_t min, std::int64_t max);
  // An array of distinct directory ids.
  std::vector<std::string> ids(std::string_view k);

  bool ok() const noexcept { return problem_.empty(); }
  void fail(std::string why) {
    if (problem_.empty()) problem_ = std::move(why);
  }

 private:
  const boost::json::value* field(std::string_view k, bool required);
  boost::json::value value_;
  std::string problem_;
};

using admin_handler = std::function<void(const caller&, net::request_context&, net::responder)>;

class admin_gate {
 public:
  admin_gate(std::string key, domain::directory_service& dir, const channel_directory& channels)
      : key_(std::move(key)), dir_(dir), channels_(channels) {}

  // Wraps `h` with authorisation: the operator key or an admin agent's
  // token (for the path's {tenant} only); `operator_only` refuses admin
  // agents. The gate must outlive the handler.
  net::handler guarded(bool operator_only, admin_handler h) const;
  // The same, holding `owner` (the routes object that holds this gate) for
  // as long as the handler lives.
  template <class Owner>
  net::handler guarded_by(std::shared_ptr<Owner> owner, bool operator_only, admin_handler h) const {
    return guarded(operator_only, [owner = std::move(owner), h = std::move(h)](
                                      const caller& c, net::request_context& rc,
                                      net::responder answer) { h(c, rc, std::move(answer)); });
  }

  // Checks the path's tenant exists; answers 404 otherwise.
  bool tenant_exists(std::string_view t, net::responder& answer) const;
  // The path's channel, if the path's tenant owns it; answers 404 otherwise.
  domain::channel_ptr channel_of_path(const net::request_context& rc, net::responder& answer) const;

 private:
  std::string key_;
  domain::directory_service& dir_;
  const channel_directory& channels_;
};

}  // namespace gw::api
