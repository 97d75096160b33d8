// Load tool for the conversation core: durable appends per second and commit
// latency with fsync on, then recovery time and resident memory per idle
// conversation after a restart, in one run.
//
// usage: journal_bench [--phase both|append|recover] [--dir DIR] [--events N]
//                      [--conversations C] [--inflight K] [--window-us W] [--shards S]
// `append` fills DIR and keeps it; `recover` measures a restart over DIR in a
// fresh process (so the allocator's caches from appending do not hide the
// resident memory). `both` (default) does both in one process over a new
// directory under /var/tmp and removes it.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/domain/conversations.hpp"

namespace {

using clk = std::chrono::steady_clock;

long resident_bytes() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

struct options {
  std::string dir;
  long events = 1'000'000;
  long conversations = 1'000'000;
  int inflight = 4096;
  long window_us = 0;
  unsigned shards = 2;
  std::string phase = "both";
};

std::unique_ptr<gw::domain::conversation_service> make(gw::runtime::shard_set& shards,
                                                       const options& o) {
  gw::domain::core_options c;
  c.data_dir = o.dir;
  c.commit_window = std::chrono::microseconds(o.window_us);
  c.snapshot_every = 1'000'000'000;  // measure a full replay
  return std::make_unique<gw::domain::conversation_service>(shards, c);
}

gw::domain::event inbound(long n) {
  gw::domain::event e;
  e.kind = gw::domain::event_kind::message_in;
  e.provider_id = "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQz" + std::to_string(n);
  e.author = "Patient " + std::to_string(n);
  e.text = "Hola, quería confirmar mi cita de mañana a las 10:30. Gracias.";
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir")
      o.dir = v;
    else if (k == "--events")
      o.events = std::stol(v);
    else if (k == "--conversations")
      o.conversations = std::stol(v);
    else if (k == "--inflight")
      o.inflight = std::stoi(v);
    else if (k == "--window-us")
      o.window_us = std::stol(v);
    else if (k == "--shards")
      o.shards = static_cast<unsigned>(std::stoul(v));
    else if (k == "--phase")
      o.phase = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.phase != "both" && o.phase != "append" && o.phase != "recover") {
    std::fprintf(stderr, "--phase must be both, append or recover\n");
    return 2;
  }
  if (o.phase != "both" && o.dir.empty()) {
    std::fprintf(stderr, "--phase %s needs --dir\n", o.phase.c_str());
    return 2;
  }
  bool own_dir = o.dir.empty();
  if (own_dir) {
    char t[] = "/var/tmp/journal-bench-XXXXXX";
    o.dir = mkdtemp(t);
  }

  if (o.phase != "recover") {
    // Phase 1: durable appends. Closed loop with `inflight` outstanding.
    std::vector<std::uint32_t> latency_us(static_cast<std::size_t>(o.events));
    double append_secs = 0;
    {
      gw::runtime::shard_set shards(o.shards);
      shards.start();
      auto core = make(shards, o);
      core->recover();
      std::atomic<long> done{0}, failed{0};
      auto start = clk::now();
      for (long n = 0; n < o.events; ++n) {
        while (n - done.load(std::memory_order_acquire) >= o.inflight) std::this_thread::yield();
        auto t0 = clk::now();
        gw::domain::conversation_key key{"clinic-1", "wa",
                                         "+34" + std::to_string(n % o.conversations)};
        core->submit(std::move(key), {inbound(n)}, [&, n, t0](std::error_code ec, auto) {
          latency_us[static_cast<std::size_t>(n)] = static_cast<std::uint32_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(clk::now() - t0).count());
          if (ec) failed.fetch_add(1);
          done.fetch_add(1, std::memory_order_release);
        });
      }
      while (done.load() < o.events) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      append_secs = std::chrono::duration<double>(clk::now() - start).count();
      shards.stop();
      if (failed.load()) std::printf("FAILED appends: %ld\n", failed.load());
    }
    std::sort(latency_us.begin(), latency_us.end());
    auto pct = [&](double p) {
      return latency_us[static_cast<std::size_t>(p * (latency_us.size() - 1))];
    };
    std::printf("append: %ld events, %ld conversations, %u shards, inflight %d, window %ld us\n",
                o.events, o.conversations, o.shards, o.inflight, o.window_us);
    std::printf("append: %.0f durable events/s (%.2f s)\n", o.events / append_secs, append_secs);
    std::printf("commit latency us: p50 %u  p90 %u  p99 %u  p99.9 %u  max %u\n", pct(0.5), pct(0.9),
                pct(0.99), pct(0.999), latency_us.back());
  }
  if (o.phase == "append") return 0;

  // Phase 2: restart. Recovery time and resident bytes per conversation.
  {
    gw::runtime::shard_set shards(o.shards);
    shards.start();
    long before = resident_bytes();
    auto core = make(shards, o);
    auto r = core->recover();
    long after = resident_bytes();
    std::printf("recovery: %zu events, %zu conversations in %lld ms (%.0f events/s)\n", r.events,
                r.conversations, static_cast<long long>(r.took.count()),
                r.events / std::max(0.001, r.took.count() / 1000.0));
    std::printf("memory: %.0f resident bytes per conversation (%ld MiB for %zu)\n",
                static_cast<double>(after - before) / std::max<std::size_t>(1, r.conversations),
                (after - before) >> 20, r.conversations);
    shards.stop();
  }
  if (own_dir) std::filesystem::remove_all(o.dir);
  return 0;
}
