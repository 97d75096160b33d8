// Metric updates and the Prometheus text rendering.
#include "gateway/obs/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace gw::metrics {

namespace {
constexpr auto relaxed = std::memory_order_relaxed;

// A sample's name and labels, up to its value.
void sample_start(std::string& out, std::string_view name, std::string_view labels) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
}

}  // namespace

void write_sample(std::string& out, std::string_view name, std::string_view labels,
                  std::uint64_t v) {
  sample_start(out, name, labels);
  out += std::to_string(v);
  out += '\n';
}

void write_real_sample(std::string& out, std::string_view name, std::string_view labels, double v) {
  sample_start(out, name, labels);
  char buf[32];  // the shortest text that reads back as v: 0.06, 1796037882.45
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc{} ? end : buf);
  out += '\n';
}

void write_head(std::string& out, std::string_view name, std::string_view type,
                std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void histogram::observe(std::chrono::nanoseconds d) noexcept {
  double secs = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < bounds.size() && secs > bounds[i]) ++i;
  if (i < bounds.size()) buckets_[i].fetch_add(1, relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count()), relaxed);
  count_.fetch_add(1, relaxed);
}

void histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  std::string sep = labels.empty() ? "" : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  char le[48];
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets_[i].load(relaxed);
    std::snprintf(le, sizeof le, "le=\"%g\"", bounds[i]);
    write_sample(out, std::string(name) + "_bucket", sep + le, cumulative);
  }
  write_sample(out, std::string(name) + "_bucket", sep + "le=\"+Inf\"", count_.load(relaxed));
  write_real_sample(out, std::string(name) + "_sum", labels,
                    static_cast<double>(sum_ns_.load(relaxed)) / 1e9);
  write_sample(out, std::string(name) + "_count", labels, count_.load(relaxed));
}

registry::registry(std::string version, std::string backend)
    : routes_{"unmatched"},
      version_(std::move(version)),
      backend_(std::move(backend)),
      requests_(new std::atomic<std::uint64_t>[max_routes * max_status]()) {}

void registry::set_routes(std::vector<std::string> routes) {
  if (routes.empty() || routes.size() > max_routes)
    throw std::invalid_argument("metrics: between 1 and 32 route labels");
  routes_ = std::move(routes);
}

void registry::count_request(std::size_t route, unsigned status,
                             std::chrono::nanoseconds took) noexcept {
  if (route >= routes_.size() || status >= max_status) return;
  requests_[route * max_status + status].fetch_add(1, relaxed);
  latency_[route].observe(took);
}

std::uint64_t registry::requests(std::size_t route, unsigned status) const noexcept {
  if (route >= routes_.size() || status >= max_status) return 0;
  return requests_[route * max_status + status].load(relaxed);
}

void registry::count_ws_close(std::uint16_t code) noexcept {
  std::size_t i = 0;
  while (i < counted_close_codes.size() && counted_close_codes[i] != code) ++i;
  ws_closes_[i].fetch_add(1, relaxed);
}

std::string registry::render() const {
  std::string out;
  out.reserve(8192);
  write_head(out, "gateway_build_info", "gauge", "Version and socket backend of this build.");
  write_sample(out, "gateway_build_info",
               "version=\"" + version_ + "\",backend=\"" + backend_ + "\"", 1);

  write_head(out, "gateway_connections_open", "gauge",
             "Open client connections (HTTP and WebSocket).");
  write_sample(
      out, "gateway_connections_open", {},
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, connections_open.load(relaxed))));
  write_head(out, "gateway_connections_accepted_total", "counter", "Connections accepted.");
  write_sample(out, "gateway_connections_accepted_total", {}, connections_accepted.load(relaxed));
  write_head(out, "gateway_connections_rejected_total", "counter",
             "Connections refused because http.max_connections were open.");
  write_sample(out, "gateway_connections_rejected_total", "reason=\"max_connections\"",
               connections_rejected.load(relaxed));
  write_head(out, "gateway_tls_handshake_failures_total", "counter", "Failed TLS handshakes.");
  write_sample(out, "gateway_tls_handshake_failures_total", {},
               tls_handshake_failures.load(relaxed));
  write_head(out, "gateway_http_timeouts_total", "counter",
             "HTTP connections dropped by the header, body or idle timeout.");
  write_sample(out, "gateway_http_timeouts_total", {}, http_timeouts.load(relaxed));
  write_head(out, "gateway_bytes_total", "counter", "Bytes received from and sent to clients.");
  write_sample(out, "gateway_bytes_total", "direction=\"in\"", bytes_received.load(relaxed));
  write_sample(out, "gateway_bytes_total", "direction=\"out\"", bytes_sent.load(relaxed));

  write_head(out, "gateway_http_requests_total", "counter",
             "HTTP requests answered, by route and status.");
  for (std::size_t r = 0; r < routes_.size(); ++r)
    for (unsigned s = 100; s < max_status; ++s)
      if (auto v = requests_[r * max_status + s].load(relaxed))
        write_sample(out, "gateway_http_requests_total",
                     "route=\"" + routes_[r] + "\",status=\"" + std::to_string(s) + "\"", v);
  write_head(out, "gateway_http_request_duration_seconds", "histogram",
             "From a request's first byte to its response written, by route.");
  for (std::size_t r = 0; r < routes_.size(); ++r)
    if (latency_[r].count() > 0)
      latency_[r].render(out, "gateway_http_request_duration_seconds",
                         "route=\"" + routes_[r] + "\"");

  write_head(out, "gateway_ws_sessions_open", "gauge", "Open WebSocket sessions.");
  write_sample(
      out, "gateway_ws_sessions_open", {},
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, ws_sessions_open.load(relaxed))));
  write_head(out, "gateway_ws_frames_total", "counter", "WebSocket messages received and sent.");
  write_sample(out, "gateway_ws_frames_total", "direction=\"in\"",
               ws_frames_received.load(relaxed));
  write_sample(out, "gateway_ws_frames_total", "direction=\"out\"", ws_frames_sent.load(relaxed));
  write_head(out, "gateway_ws_outbound_queue_bytes", "gauge",
             "Bytes waiting in WebSocket outbound queues, all sessions together.");
  write_sample(out, "gateway_ws_outbound_queue_bytes", {},
               static_cast<std::uint64_t>(
                   std::max<std::int64_t>(0, ws_outbound_queued_bytes.load(relaxed))));
  write_head(out, "gateway_ws_closes_total", "counter",
             "WebSocket sessions closed, by close code.");
  for (std::size_t i = 0; i <= counted_close_codes.size(); ++i) {
    std::string code =
        i < counted_close_codes.size() ? std::to_string(counted_close_codes[i]) : "other";
    write_sample(out, "gateway_ws_closes_total", "code=\"" + code + "\"",
                 ws_closes_[i].load(relaxed));
  }
  for (const auto& collect : collectors_) collect(out);
  return out;
}

void write_metric(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help, std::uint64_t value) {
  write_head(out, name, type, help);
  write_sample(out, name, {}, value);
}

}  // namespace gw::metrics
