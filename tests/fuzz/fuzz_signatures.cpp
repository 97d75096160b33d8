// Fuzz target: signature checks on arbitrary headers, bodies and URLs never
// crash, and never accept a header that is not the exact expected value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/signatures.hpp"
#include "protocol/twilio_webhook.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Layout: header \n url \n body.
  auto nl = in.find('\n');
  auto header = in.substr(0, nl);
  auto rest = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  auto nl2 = rest.find('\n');
  auto url = rest.substr(0, nl2);
  auto body = nl2 == std::string_view::npos ? std::string_view{} : rest.substr(nl2 + 1);

  if (gw::protocol::verify_meta_signature(header, "secret", body) &&
      header != gw::protocol::meta_signature("secret", body))
    std::abort();
  if (auto form = gw::protocol::parse_form(body))
    (void)gw::protocol::verify_twilio_signature(header, "token", url, *form);
  (void)gw::protocol::verify_twilio_body_signature(header, "token", url, body);
  return 0;
}
