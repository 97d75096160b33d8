// Handlers for liveness, readiness and metrics.
#include "gateway/app/routes.hpp"

namespace gw::app {

namespace http = boost::beast::http;

void add_operational_routes(net::router& r, const std::atomic<lifecycle>& state,
                            std::function<bool()> healthy, const metrics::registry& m) {
  // Alive: the process answers HTTP. Nothing else is checked on purpose.
  r.add(http::verb::get, "/healthz", [](net::request_context&, net::responder answer) {
    answer.json(http::status::ok, R"({"status":"ok"})");
  });

  // Ready: recovery finished, the journal can write, and not draining.
  // Load balancers take traffic away on 503.
  r.add(http::verb::get, "/readyz",
        [&state, healthy = std::move(healthy)](net::request_context&, net::responder answer) {
          switch (state.load(std::memory_order_acquire)) {
            case lifecycle::ready:
              if (!healthy())
                return answer.json(http::status::service_unavailable,
                                   R"({"status":"journal_failed"})");
              return answer.json(http::status::ok, R"({"status":"ready"})");
            case lifecycle::starting:
              return answer.json(http::status::service_unavailable, R"({"status":"recovering"})");
            case lifecycle::draining:
              return answer.json(http::status::service_unavailable, R"({"status":"draining"})");
          }
        });

  r.add(http::verb::get, "/metrics", [&m](net::request_context&, net::responder answer) {
    answer.text(http::status::ok, m.render(), "text/plain; version=0.0.4; charset=utf-8");
  });

  r.add_websocket("/v1/agent");
}

}  // namespace gw::app
