// A webhook's dedupe check: is this provider message id new in its
// conversation? 10,000 conversations with `n` ids each, shaped like
// WhatsApp's (a long shared prefix, then the part that differs); each
// iteration asks the next conversation about a new id, so the sets are
// mostly out of cache, as under ingest. std::unordered_set<std::string>
// (what conversations used first), id_set (conversation.hpp, node-based
// with cached hashes) and id_table (id_table.hpp, flat: what the
// conversations use now); then the insert that follows a new id.
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
void add(Set& s, std::string id) {
  if constexpr (requires { s.insert(std::move(id)); })
    s.insert(std::move(id));
  else
    s.insert_or_assign(std::move(id), 0);
}

constexpr long conversations = 10'000;

// Every conversation's table, holding `n` ids each.
template <class Set>
std::vector<Set> tables(long n) {
  std::vector<Set> seen(conversations);
  for (long i = 0; i < n; ++i)
    for (long c = 0; c < conversations; ++c) add(seen[c], wamid(i * conversations + c));
  return seen;
}

template <class Set>
void lookup_new(benchmark::State& state) {
  auto seen = tables<Set>(state.range(0));
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

void BM_DedupeIdTable(benchmark::State& state) {
  lookup_new<gw::domain::id_table<std::int64_t>>(state);
}
BENCHMARK(BM_DedupeIdTable)->Arg(5)->Arg(20)->Arg(50);

// A webhook's whole dedupe: ask about a new id, then add it. The tables
// start with `n` ids each and grow as the loop runs (1,000,000 ids spread
// over 10,000 conversations add ~100 to each).
template <class Set>
void check_and_add(benchmark::State& state) {
  auto seen = tables<Set>(state.range(0));
  std::vector<std::string> ids(static_cast<std::size_t>(state.max_iterations));
  for (std::size_t i = 0; i < ids.size(); ++i)
    ids[i] = wamid(static_cast<long>(i) + state.range(0) * conversations);
  std::size_t next = 0;
  long c = 0;
  for (auto _ : state) {
    auto& id = ids[next++];
    if (!seen[c].contains(id)) add(seen[c], std::move(id));
    if (++c == conversations) c = 0;
  }
}
void BM_DedupeAddIdSet(benchmark::State& state) { check_and_add<gw::domain::id_set>(state); }
BENCHMARK(BM_DedupeAddIdSet)->Arg(20)->Arg(200)->Iterations(1'000'000);
void BM_DedupeAddIdTable(benchmark::State& state) {
  check_and_add<gw::domain::id_table<std::int64_t>>(state);
}
BENCHMARK(BM_DedupeAddIdTable)->Arg(20)->Arg(200)->Iterations(1'000'000);

}  // namespace
