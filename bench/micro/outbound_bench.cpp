// Outbound costs before the network: planning an SMS (alphabet and parts),
// building a provider call, reading its answer, and the pacing rules.
#include <benchmark/benchmark.h>

#include "adapters/twilio/send.hpp"
#include "adapters/whatsapp_cloud/send.hpp"
#include "protocol/pacing.hpp"
#include "protocol/sms.hpp"

namespace {

using namespace gw;

const std::string reminder_gsm =
    "Recordatorio: su cita con la Dra. Muñoz es mañana a las 10:00. Responda 1 para confirmar o 2 "
    "para cancelar.";
const std::string reply_ucs2 =
    "Hola Ana, le confirmamos la cita en Traumatología el jueves a las 12:30. Traiga el informe "
    "y la tarjeta sanitaria, por favor. 😊";

void BM_SmsPlanGsm7(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(protocol::plan_sms(reminder_gsm));
}
BENCHMARK(BM_SmsPlanGsm7);

void BM_SmsPlanUcs2(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(protocol::plan_sms(reply_ucs2));
}
BENCHMARK(BM_SmsPlanUcs2);

adapters::outbound_message message(std::string from, std::string to) {
  adapters::outbound_message m;
  m.id = "01JDZK5V6Q8W3F4T9X2B7N1M0C";
  m.from = std::move(from);
  m.to = std::move(to);
  m.text = reply_ucs2;
  return m;
}

void BM_WhatsAppBuildSend(benchmark::State& state) {
  auto m = message("106540352242922", "+34600111222");
  adapters::whatsapp_cloud::sender s{.access_token = "EAAG-token", .api_version = "v21.0"};
  for (auto _ : state) benchmark::DoNotOptimize(adapters::whatsapp_cloud::build_send(m, s));
}
BENCHMARK(BM_WhatsAppBuildSend);

void BM_WhatsAppReadReply(benchmark::State& state) {
  adapters::http_reply r{
      200,
      R"({"messaging_product":"whatsapp","contacts":[{"input":"+34600111222",)"
      R"("wa_id":"34600111222"}],"messages":[{"id":"wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]})",
      ""};
  for (auto _ : state) benchmark::DoNotOptimize(adapters::whatsapp_cloud::read_send_reply(r));
}
BENCHMARK(BM_WhatsAppReadReply);

void BM_TwilioBuildSend(benchmark::State& state) {
  auto m = message("+34910000000", "+34600111222");
  adapters::twilio::account a{
      .sid = "AC0123456789abcdef0123456789abcdef",
      .auth_token = "secret-token",
      .status_callback = "https://gw.clinic.test/webhooks/twilio/sms/status"};
  for (auto _ : state) benchmark::DoNotOptimize(adapters::twilio::build_send(m, a));
}
BENCHMARK(BM_TwilioBuildSend);

void BM_WindowLimiter80(benchmark::State& state) {
  protocol::window_limiter w(80, protocol::ns_per_second);
  protocol::nanos now = 0;
  for (auto _ : state) {
    now += 12'500'000;  // exactly the limit's pace: every call is admitted
    benchmark::DoNotOptimize(w.try_take(now));
  }
}
BENCHMARK(BM_WindowLimiter80);

void BM_PairPacer10kRecipients(benchmark::State& state) {
  protocol::pair_pacer p(6 * protocol::ns_per_second, 1);
  std::vector<std::string> to;
  for (int i = 0; i < 10'000; ++i) to.push_back("+3460" + std::to_string(1'000'000 + i));
  protocol::nanos now = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    now += 1'000'000;
    benchmark::DoNotOptimize(p.try_take(to[i++ % to.size()], now));
  }
}
BENCHMARK(BM_PairPacer10kRecipients);

}  // namespace
