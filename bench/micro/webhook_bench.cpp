// Inbound webhook cost before the journal: signature check and parse of a
// ~1 KB WhatsApp text message, and of a Twilio inbound SMS form.
#include <benchmark/benchmark.h>

#include "bench/load/payloads.hpp"
#include "protocol/signatures.hpp"
#include "protocol/twilio_webhook.hpp"
#include "protocol/whatsapp_webhook.hpp"

namespace {

using namespace gw::protocol;

const std::string secret = "0123456789abcdef0123456789abcdef";
const std::string wa_body =
    gw::bench::whatsapp_text_webhook("106540352242922", "34600111222", "01", 1749416383);

void BM_MetaVerify(benchmark::State& state) {
  auto sig = meta_signature(secret, wa_body);
  for (auto _ : state) benchmark::DoNotOptimize(verify_meta_signature(sig, secret, wa_body));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wa_body.size()));
}
BENCHMARK(BM_MetaVerify);

void BM_WhatsAppParse(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(parse_whatsapp_webhook(wa_body));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wa_body.size()));
}
BENCHMARK(BM_WhatsAppParse);

// What the gateway does per WhatsApp request before submitting.
void BM_WhatsAppVerifyAndParse(benchmark::State& state) {
  auto sig = meta_signature(secret, wa_body);
  for (auto _ : state) {
    if (!verify_meta_signature(sig, secret, wa_body)) state.SkipWithError("signature");
    benchmark::DoNotOptimize(parse_whatsapp_webhook(wa_body));
  }
}
BENCHMARK(BM_WhatsAppVerifyAndParse);

// A documented inbound SMS: the 20-odd parameters Twilio sends.
const std::string twilio_body =
    "ToCountry=US&ToState=CA&SmsMessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&NumMedia=0&"
    "ToCity=SAN+FRANCISCO&FromZip=94105&SmsSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&FromState=CA&"
    "SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Can+I+move+my+appointment+to+10%3A30+"
    "tomorrow%3F&FromCountry=US&To=%2B15550001111&ToZip=94105&NumSegments=1&"
    "MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=AC0123456789abcdef0123456789abcdef&"
    "From=%2B14155550123&ApiVersion=2010-04-01";
const std::string twilio_url = "https://gw.example.com/webhooks/twilio/sms-main";

void BM_TwilioVerifyAndParse(benchmark::State& state) {
  auto sig = twilio_signature(secret, twilio_url, *parse_form(twilio_body));
  for (auto _ : state) {
    auto form = parse_form(twilio_body);
    if (!verify_twilio_signature(sig, secret, twilio_url, *form)) state.SkipWithError("signature");
    benchmark::DoNotOptimize(parse_twilio_inbound(std::move(*form)));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(twilio_body.size()));
}
BENCHMARK(BM_TwilioVerifyAndParse);

}  // namespace
