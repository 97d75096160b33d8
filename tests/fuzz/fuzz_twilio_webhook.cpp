// Fuzz target: form decoding and the Twilio inbound/status parsers.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/twilio_webhook.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto in = gw::protocol::parse_twilio_inbound(body);
  if (auto* m = std::get_if<gw::protocol::twilio_inbound>(&in))
    if (m->message_sid.empty() || m->from.empty() || m->to.empty()) std::abort();
  (void)gw::protocol::parse_twilio_status(body);
  // encode_form is parse_form's inverse.
  if (auto form = gw::protocol::parse_form(body)) {
    auto again = gw::protocol::parse_form(gw::protocol::encode_form(*form));
    if (!again || *again != *form) std::abort();
  }
  return 0;
}
