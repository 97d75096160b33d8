// Fuzz target: SMS alphabet detection, segment counting and the SMS rules.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/sms.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gw::protocol;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = plan_sms(text);
  if (!p) return 0;
  bool gsm = p->encoding == sms_encoding::gsm7;
  std::size_t single = gsm ? 160 : 70, part = gsm ? 153 : 67;
  // Each character costs one or two units; parts hold at least part - 1 units each.
  if (p->units < p->characters || p->units > 2 * p->characters) std::abort();
  if (gsm != p->non_gsm.empty() || p->non_gsm.size() > 5) std::abort();
  if ((p->characters == 0) != (p->segments == 0)) std::abort();
  if (p->units <= single && p->units > 0 && p->segments != 1) std::abort();
  if (p->units > single &&
      (p->segments * part < p->units || p->segments * (part - 1) > p->units + part))
    std::abort();
  auto v = check_sms(text, {.max_segments = 3, .single_line = true, .single_segment = false});
  if (auto* ok = std::get_if<sms_plan>(&v);
      ok && (ok->segments > 3 || text.find('\n') != text.npos))
    std::abort();
  return 0;
}
