// Process metrics and their Prometheus text exposition (format 0.0.4).
// Counters are relaxed atomics: any thread may update, /metrics reads a
// consistent-enough snapshot without stopping anyone.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gw::metrics {

// A latency histogram with fixed bucket bounds in seconds.
class histogram {
 public:
  static constexpr std::array<double, 14> bounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};
  void observe(std::chrono::nanoseconds d) noexcept;
  // Appends the _bucket, _sum and _count lines; `labels` is `k="v"` or empty.
  void render(std::string& out, std::string_view name, std::string_view labels) const;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size()> buckets_{};  // non-cumulative
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> count_{0};
};

// The number of the calling thread among those that ever updated a
// striped counter (0, 1, 2, ... in order of their first update).
inline std::size_t counting_thread() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine;
}

// A counter or gauge that several threads update at a high rate (every
// frame to every agent session). Each of the first `threads` updating
// threads owns a cache line and is its only writer, so an update is a plain
// load and store: no locked instruction, which on x86 would also wait for
// the store buffer to drain (after a frame was just copied, that wait was
// most of the cost: bench/PROFILE.md). Further threads share one line with
// locked adds. A read sums the lines. Same calls as the std::atomic it
// replaces.
template <class T>
class striped {
 public:
  void fetch_add(T v, std::memory_order = std::memory_order_relaxed) noexcept {
    auto t = counting_thread();
    if (t < threads) {
      auto& mine = cells_[t].v;
      mine.store(mine.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    } else {
      cells_[threads].v.fetch_add(v, std::memory_order_relaxed);
    }
  }
  void fetch_sub(T v, std::memory_order order = std::memory_order_relaxed) noexcept {
    fetch_add(static_cast<T>(T{0} - v), order);  // modular for unsigned T
  }
  T load(std::memory_order = std::memory_order_relaxed) const noexcept {
    T sum = 0;
    for (const auto& c : cells_) sum = static_cast<T>(sum + c.v.load(std::memory_order_relaxed));
    return sum;
  }

 private:
  static constexpr std::size_t threads = 64;
  struct alignas(64) cell {
    std::atomic<T> v{0};
  };
  std::array<cell, threads + 1> cells_{};  // the last: shared by threads past `threads`
};

// WebSocket close codes counted by value; anything else counts as "other".
inline constexpr std::array<std::uint16_t, 10> counted_close_codes = {1000, 1001, 1003, 1006, 1008,
                                                                      1009, 4001, 4002, 4003, 4004};

class registry {
 public:
  static constexpr std::size_t max_routes = 32;
  static constexpr std::size_t max_status = 600;

  registry(std::string version, std::string backend);

  // Route labels by route index; `routes[0]` labels requests no route
  // matched. Set once, before any request is counted.
  void set_routes(std::vector<std::string> routes);

  // Connections (HTTP and WebSocket).
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_rejected{0};  // over http.max_connections
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  // Per read and write, on every shard: striped.
  striped<std::uint64_t> bytes_received;
  striped<std::uint64_t> bytes_sent;
  std::atomic<std::uint64_t> http_timeouts{0};

  // WebSocket sessions.
  std::atomic<std::int64_t> ws_sessions_open{0};
  striped<std::uint64_t> ws_frames_received;
  striped<std::uint64_t> ws_frames_sent;           // per frame to every session
  striped<std::int64_t> ws_outbound_queued_bytes;  // across all sessions

  // Adds a function that appends more families at scrape time (other
  // subsystems' counters). Before the server starts only.
  void add_collector(std::function<void(std::string&)> fn) { collectors_.push_back(std::move(fn)); }

  void count_request(std::size_t route, unsigned status, std::chrono::nanoseconds took) noexcept;
  void count_ws_close(std::uint16_t code) noexcept;

  std::uint64_t requests(std::size_t route, unsigned status) const noexcept;
  std::string render() const;

 private:
  std::vector<std::string> routes_;
  std::string version_, backend_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> requests_;  // [route][status]
  std::array<histogram, max_routes> latency_;
  std::array<std::atomic<std::uint64_t>, counted_close_codes.size() + 1> ws_closes_{};
  std::vector<std::function<void(std::string&)>> collectors_;
};

// The HELP and TYPE lines of a family, then its samples (`labels` is
// `k="v",...` or empty), for collectors.
void write_head(std::string& out, std::string_view name, std::string_view type,
                std::string_view help);
void write_sample(std::string& out, std::string_view name, std::string_view labels,
                  std::uint64_t value);
// The same with a real value (seconds, say).
void write_real_sample(std::string& out, std::string_view name, std::string_view labels,
                       double value);

// One unlabelled sample with its HELP and TYPE lines, for collectors.
void write_metric(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help, std::uint64_t value);

}  // namespace gw::metrics
