// Journal-side codecs: encoding and decoding an event batch, CRC-32C.
#include <benchmark/benchmark.h>

#include "gateway/domain/event.hpp"
#include "gateway/store/crc32c.hpp"
#include "gateway/store/record.hpp"

namespace {

gw::domain::event sample() {
  gw::domain::event e;
  e.kind = gw::domain::event_kind::message_in;
  e.conv = {"clinic-0001", "wa-main", "+34600111222"};
  e.seq = 12;
  e.offset = 123456;
  e.epoch = 987654321;
  e.at_ms = 1'790'000'000'000;
  e.message_id = "m-0000012";
  e.provider_id = "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQTdDMDk4QkE4RjE2RjEyQTNBNgA=";
  e.text = "Hola, quería confirmar mi cita de mañana a las 10:30. Gracias.";
  return e;
}

void BM_EncodeEvent(benchmark::State& state) {
  std::vector<gw::domain::event> batch{sample()};
  for (auto _ : state) benchmark::DoNotOptimize(gw::domain::encode_events(batch));
}
BENCHMARK(BM_EncodeEvent);

void BM_DecodeEvent(benchmark::State& state) {
  auto bytes = gw::domain::encode_events(std::vector<gw::domain::event>{sample()});
  for (auto _ : state) benchmark::DoNotOptimize(gw::domain::decode_events(bytes));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_DecodeEvent);

void BM_Crc32c(benchmark::State& state) {
  std::string buf(static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(gw::store::crc32c(0, buf.data(), buf.size()));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(256)->Arg(4096);

}  // namespace
