// The operational routes: /healthz, /readyz, /metrics, and the agent
// WebSocket endpoint /v1/agent.
#pragma once

#include <atomic>
#include <functional>

#include "gateway/net/router.hpp"
#include "gateway/obs/metrics.hpp"

namespace gw::app {

enum class lifecycle : int { starting, ready, draining };

// `healthy` reports whether the durable store can write (false: /readyz 503).
void add_operational_routes(net::router& r, const std::atomic<lifecycle>& state,
                            std::function<bool()> healthy, const metrics::registry& m);

}  // namespace gw::app
