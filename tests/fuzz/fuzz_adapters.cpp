// Fuzz target: reading providers' answers (WhatsApp Cloud API and Twilio),
// which come from the network and are not ours to trust.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "adapters/twilio/send.hpp"
#include "adapters/whatsapp_cloud/send.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gw::adapters;
  if (size < 2) return 0;
  // The first byte picks the HTTP status, the rest is the body.
  static constexpr unsigned statuses[] = {200, 201, 400, 401, 404, 429, 500, 503};
  http_reply r;
  r.status = statuses[data[0] % 8];
  r.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  r.retry_after = r.body.substr(0, data[0] % 4);
  for (auto* read : {&whatsapp_cloud::read_send_reply, &twilio::read_send_reply}) {
    auto out = read(r);
    // Accepted means a provider id; anything else carries a code and a reason.
    if (out.kind == verdict::accepted && out.provider_id.empty()) std::abort();
    if (out.kind != verdict::accepted && (out.code.empty() || out.reason.empty())) std::abort();
    if (out.retry_after_ms < 0 || out.retry_after_ms > 86'400'000) std::abort();
    // A 2xx is never retried: the provider may have sent it.
    if (r.status < 300 && out.kind != verdict::accepted && out.kind != verdict::failed)
      std::abort();
  }
  return 0;
}
