// Shared pieces of the adapters' vocabulary.
#include "adapters/outbound.hpp"

#include <charconv>

namespace gw::adapters {

std::string_view name_of(verdict v) noexcept {
  switch (v) {
    case verdict::accepted:
      return "accepted";
    case verdict::retry:
      return "retry";
    case verdict::throttle_channel:
      return "throttle_channel";
    case verdict::throttle_recipient:
      return "throttle_recipient";
    case verdict::failed:
      return "failed";
  }
  return "unknown";
}

std::int64_t retry_after_ms(const std::string& header) noexcept {
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  if (ec != std::errc{} || end != header.data() + header.size() || seconds < 0) return 0;
  return seconds > 86'400 ? 86'400'000 : seconds * 1000;
}

send_result no_reply_result() {
  send_result r;
  r.kind = verdict::retry;
  r.code = "no_reply";
  r.reason = "no_reply: the provider did not answer (connection failed or timed out)";
  return r;
}

send_result by_http_status(unsigned status) {
  send_result r;
  r.kind = status >= 500   ? verdict::retry
           : status == 429 ? verdict::throttle_channel
                           : verdict::failed;
  r.code = "http_" + std::to_string(status);
  r.reason =
      r.code + ": the provider answered HTTP " + std::to_string(status) + " without an error code";
  return r;
}

send_result unreadable_reply(unsigned status, std::string_view missing) {
  send_result r;
  r.kind = verdict::failed;
  r.code = "unreadable_reply";
  r.reason =
      "unreadable_reply: HTTP " + std::to_string(status) + " without " + std::string(missing);
  return r;
}

}  // namespace gw::adapters
