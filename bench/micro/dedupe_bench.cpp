// A webhook's dedupe check: is this provider message id new in its
// conversation? 10,000 conversations with `n` ids each, shaped like
// WhatsApp's (a long shared prefix, then the part that differs); each
// iteration asks the next conversation about a new id, so the sets are
// mostly out of cache, as under ingest. std::unordered_set<std::string>
// (what conversations used before) against id_set (conversation.hpp).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <unordered_set>
#include <vector>

#include "gateway/domain/conversation.hpp"

namespace {

std::string wamid(long n) {
  char tail[24];
  std::snprintf(tail, sizeof tail, "%016lX", n);
  return "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA" + std::string(tail);
}

template <class Set>
void lookup_new(benchmark::State& state) {
  constexpr long conversations = 10'000;
  std::vector<Set> seen(conversations);
  for (long i = 0; i < state.range(0); ++i)
    for (long c = 0; c < conversations; ++c) seen[c].insert(wamid(i * conversations + c));
  auto fresh = wamid(-1);
  long c = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(seen[c].contains(fresh));
    if (++c == conversations) c = 0;
  }
}

void BM_DedupeStdString(benchmark::State& state) {
  lookup_new<std::unordered_set<std::string>>(state);
}
BENCHMARK(BM_DedupeStdString)->Arg(5)->Arg(20)->Arg(50);

void BM_DedupeIdSet(benchmark::State& state) { lookup_new<gw::domain::id_set>(state); }
BENCHMARK(BM_DedupeIdSet)->Arg(5)->Arg(20)->Arg(50);

}  // namespace
