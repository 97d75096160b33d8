// Decoding a client command and encoding the reply: the per-frame codec cost.
#include <benchmark/benchmark.h>

#include "protocol/agent_frames.hpp"

namespace {

void BM_DecodePing(benchmark::State& state) {
  const std::string frame = R"({"c":"ping","id":"0123456789abcdef"})";
  for (auto _ : state) benchmark::DoNotOptimize(gw::protocol::decode_command(frame));
}
BENCHMARK(BM_DecodePing);

void BM_EncodePong(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(gw::protocol::encode_pong("0123456789abcdef"));
}
BENCHMARK(BM_EncodePong);

}  // namespace
