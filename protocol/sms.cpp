// GSM-7 / UCS-2 detection, segment counting and the SMS rules.
#include "protocol/sms.hpp"

#include <algorithm>
#include <array>

namespace gw::protocol {

namespace {

// Septets a code point costs in GSM-7: 1 (default alphabet), 2 (extension
// table, behind an escape) or 0 (not representable: the text needs UCS-2).
constexpr std::array<std::uint8_t, 128> ascii_septets = [] {
  std::array<std::uint8_t, 128> t{};
  for (char32_t c = 0x20; c < 0x7f; ++c) t[c] = 1;
  t['\n'] = t['\r'] = 1;
  t['`'] = 0;  // not in the default alphabet
  for (char c : {'^', '{', '}', '\\', '[', '~', ']', '|'}) t[static_cast<unsigned char>(c)] = 2;
  t['\f'] = 2;
  return t;
}();

// The default alphabet's characters beyond ASCII (3GPP TS 23.038 6.2.1).
constexpr char32_t latin_and_greek[] = {
    0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
    0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4, 0x00E5, 0x00E6,
    0x00E8, 0x00E9, 0x00EC, 0x00F1, 0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC, 0x0393,
    0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9,
};
constexpr char32_t euro = 0x20AC;  // extension table

unsigned septets(char32_t c) noexcept {
  if (c < 0x80) return ascii_septets[c];
  if (c == euro) return 2;
  return std::binary_search(std::begin(latin_and_greek), std::end(latin_and_greek), c) ? 1 : 0;
}

constexpr std::size_t gsm_single = 160, gsm_part = 153;
constexpr std::size_t ucs_single = 70, ucs_part = 67;
constexpr std::size_t non_gsm_listed = 5;

// Decodes one UTF-8 sequence at `s[i]`, advancing i; nullopt when malformed
// (overlong forms, surrogates and values past U+10FFFF included).
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) noexcept {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len;
  char32_t c;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, c = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, c = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, c = b0 & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) return std::nullopt;
  for (std::size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    c = (c << 6) | (b & 0x3F);
  }
  constexpr char32_t min_of[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < min_of[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
  i += len;
  return c;
}

// Parts needed for per-character costs `cost(c)` with `single` units in an
// unsplit message and `part` units per part once split; a character never
// straddles two parts.
template <class Cost>
std::size_t parts(const std::vector<char32_t>& text, std::size_t total, std::size_t single,
                  std::size_t part, Cost cost) {
  if (text.empty()) return 0;
  if (total <= single) return 1;
  std::size_t n = 1, used = 0;
  for (char32_t c : text) {
    auto u = cost(c);
    if (used + u > part) ++n, used = 0;
    used += u;
  }
  return n;
}

std::string to_utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

std::string describe(const sms_plan& p) {
  std::string s = std::string(name_of(p.encoding)) + ", " + std::to_string(p.units) +
                  (p.encoding == sms_encoding::gsm7 ? " septets" : " UTF-16 units");
  if (!p.non_gsm.empty()) {
    s += "; UCS-2 because of";
    for (std::size_t i = 0; i < p.non_gsm.size(); ++i)
      s += (i ? ", \"" : " \"") + p.non_gsm[i] + "\"";
  }
  return s;
}

}  // namespace

std::string_view name_of(sms_encoding e) noexcept {
  return e == sms_encoding::gsm7 ? "GSM-7" : "UCS-2";
}

std::optional<sms_plan> plan_sms(std::string_view utf8) {
  std::vector<char32_t> text;
  text.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size();) {
    auto c = next_code_point(utf8, i);
    if (!c) return std::nullopt;
    text.push_back(*c);
  }
  sms_plan p;
  p.characters = text.size();
  std::size_t gsm_units = 0, ucs_units = 0;
  for (char32_t c : text) {
    ucs_units += c > 0xFFFF ? 2 : 1;
    auto s = septets(c);
    gsm_units += s;
    if (s == 0 && p.non_gsm.size() < non_gsm_listed) {
      auto u = to_utf8(c);
      if (std::find(p.non_gsm.begin(), p.non_gsm.end(), u) == p.non_gsm.end())
        p.non_gsm.push_back(std::move(u));
    }
  }
  if (p.non_gsm.empty()) {
    p.encoding = sms_encoding::gsm7;
    p.units = gsm_units;
    p.segments = parts(text, gsm_units, gsm_single, gsm_part, septets);
  } else {
    p.encoding = sms_encoding::ucs2;
    p.units = ucs_units;
    p.segments = parts(text, ucs_units, ucs_single, ucs_part,
                       [](char32_t c) -> std::size_t { return c > 0xFFFF ? 2 : 1; });
  }
  return p;
}

std::variant<sms_plan, sms_refusal> check_sms(std::string_view utf8, const sms_rules& rules) {
  auto plan = plan_sms(utf8);
  if (!plan) return sms_refusal{"invalid_text", "the text is not valid UTF-8"};
  if (plan->characters == 0) return sms_refusal{"invalid_text", "the text is empty"};
  if (rules.single_line) {
    auto at = utf8.find_first_of("\r\n");
    if (at != std::string_view::npos) {
      auto before = plan_sms(utf8.substr(0, at));
      return sms_refusal{"line_break", "this SMS must be one line; character " +
                                           std::to_string(before->characters + 1) +
                                           " is a line break"};
    }
  }
  auto single = plan->encoding == sms_encoding::gsm7 ? gsm_single : ucs_single;
  if (rules.single_segment && plan->segments > 1)
    return sms_refusal{"not_one_segment",
                       "this SMS must fit one part of " + std::to_string(single) + " but needs " +
                           std::to_string(plan->segments) + " parts (" + describe(*plan) + ")"};
  if (plan->segments > rules.max_segments)
    return sms_refusal{"too_many_segments", "the text needs " + std::to_string(plan->segments) +
                                                " SMS parts; at most " +
                                                std::to_string(rules.max_segments) +
                                                " are allowed (" + describe(*plan) + ")"};
  return *std::move(plan);
}

}  // namespace gw::protocol
