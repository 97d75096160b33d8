// A snapshot's encoding of busy conversations: each has taken `range(0)`
// patient messages shaped like the ingest benchmark's (bench/load), so it
// keeps its last 200 and remembers every provider id. The shard encodes its
// conversations a slice at a time (conversations.cpp, snapshot_slice); this
// is the cost of one conversation, with the output buffer reused as a
// slice's is.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench/load/payloads.hpp"
#include "gateway/domain/conversation.hpp"

namespace {

using namespace gw::domain;

conversation busy_conversation(long messages, long which) {
  conversation c;
  for (long i = 1; i <= messages; ++i) {
    event e;
    e.kind = event_kind::message_in;
    e.conv = {"bench", "wa-bench", "+3460" + std::to_string(1000000 + which)};
    e.seq = static_cast<std::uint64_t>(i);
    e.offset = static_cast<std::uint64_t>(i);
    e.epoch = 1;
    e.at_ms = 1'750'000'000'000 + i;
    char id[24];
    std::snprintf(id, sizeof id, "%016lX", i * 10'000 + which);
    e.message_id = "m-" + std::string(id);
    e.provider_id =
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA" + std::string(id);
    e.author = "María José Fernández";
    e.text = gw::bench::patient_text;
    e.value = "text";
    apply(c, e);
  }
  return c;
}

void BM_SnapshotEncodeConversation(benchmark::State& state) {
  // Enough conversations that they are out of cache, as in a shard's pass.
  constexpr long conversations = 64;
  std::vector<conversation> convs;
  for (long i = 0; i < conversations; ++i) convs.push_back(busy_conversation(state.range(0), i));
  std::string out;
  std::size_t bytes = 0;
  long i = 0;
  for (auto _ : state) {
    out.clear();
    encode_conversation(out, convs[i]);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
    if (++i == conversations) i = 0;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["bytes_per_conversation"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SnapshotEncodeConversation)->Arg(1)->Arg(20)->Arg(230);

}  // namespace

namespace {
// The same, as the shard does it: every slice a new ~192 KiB buffer, kept
// until the snapshot is written, so its pages are touched for the first time.
void BM_SnapshotEncodeConversationFreshBuffer(benchmark::State& state) {
  constexpr long conversations = 64;
  std::vector<conversation> convs;
  for (long i = 0; i < conversations; ++i) convs.push_back(busy_conversation(state.range(0), i));
  std::vector<std::string> pieces;
  std::size_t bytes = 0;
  long i = 0;
  for (auto _ : state) {
    auto& out = pieces.emplace_back();
    out.reserve(192 * 1024);
    encode_conversation(out, convs[i]);
    bytes += out.size();
    if (++i == conversations) i = 0;
    if (pieces.size() == 2048) {
      state.PauseTiming();
      pieces.clear();
      state.ResumeTiming();
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_SnapshotEncodeConversationFreshBuffer)->Arg(230);
}  // namespace
