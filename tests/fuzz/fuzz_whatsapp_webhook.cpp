// Fuzz target: the WhatsApp webhook parser never crashes, and what it
// accepts is well-formed (every message has id, from and type, and every
// message but a text one its JSON); and whatever the fast path for text
// accepts, the document parser reads the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/whatsapp_webhook.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = gw::protocol::parse_whatsapp_webhook(body);
  if (auto* w = std::get_if<gw::protocol::wa_webhook>(&r))
    for (const auto& m : w->messages)
      if (m.id.empty() || m.from.empty() || m.type.empty() || m.raw.empty() != (m.type == "text"))
        std::abort();
  if (auto fast = gw::protocol::detail::parse_whatsapp_text_fast(body)) {
    auto dom = gw::protocol::detail::parse_whatsapp_webhook_dom(body);
    auto* w = std::get_if<gw::protocol::wa_webhook>(&dom);
    if (!w || !(*w == *fast)) std::abort();
  }
  return 0;
}
