// SMS text as the network carries it: which alphabet a text needs (GSM-7 or
// UCS-2), how many parts it is split into, and the rules a clinic's SMS
// must pass before it is paid for and sent. Pure; no I/O.
//
// GSM-7 (3GPP TS 23.038, default alphabet and its extension table): 160
// septets in one part, 153 per part once split (the concatenation header
// takes the rest); an extension character (^ { } \ [ ~ ] | and the euro sign,
// form feed) costs two septets and is never split across parts. Any other
// character makes the whole text UCS-2: 70 UTF-16 code units in one part, 67
// per part once split, a surrogate pair never split. These are the rules of
// Twilio's segment calculator, whose published examples the tests replay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gw::protocol {

enum class sms_encoding : std::uint8_t { gsm7, ucs2 };
std::string_view name_of(sms_encoding e) noexcept;  // "GSM-7", "UCS-2"

struct sms_plan {
  sms_encoding encoding = sms_encoding::gsm7;
  std::size_t characters = 0;  // Unicode code points
  std::size_t units = 0;       // septets (GSM-7) or UTF-16 code units (UCS-2)
  std::size_t segments = 0;    // parts billed and sent; 0 for an empty text
  // UCS-2 only: the first few distinct characters outside GSM-7, as UTF-8,
  // so an agent can see what to replace to pay for fewer parts.
  std::vector<std::string> non_gsm;
};

// nullopt when `utf8` is not valid UTF-8.
std::optional<sms_plan> plan_sms(std::string_view utf8);

// What a channel or a message kind allows.
struct sms_rules {
  std::size_t max_segments = 10;  // Twilio's own ceiling is 1,600 characters
  bool single_line = false;       // reminders: no line breaks ...
  bool single_segment = false;    // ... and one part
};

struct sms_refusal {
  std::string code;     // stable: invalid_text, too_many_segments, line_break, not_one_segment
  std::string message;  // names the numbers, for the agent
};

// The plan if `utf8` passes `rules`, else why not.
std::variant<sms_plan, sms_refusal> check_sms(std::string_view utf8, const sms_rules& rules);

}  // namespace gw::protocol
