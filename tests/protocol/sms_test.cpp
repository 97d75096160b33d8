#include "protocol/sms.hpp"

#include <gtest/gtest.h>

namespace gw::protocol {
namespace {

// "1234567890" repeated, `n` characters long.
std::string digits(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('0' + (i + 1) % 10);
  return s;
}

sms_plan plan(std::string_view text) {
  auto p = plan_sms(text);
  EXPECT_TRUE(p) << text;
  return p.value_or(sms_plan{});
}

// Twilio's message-segment-calculator test data (tests/index.test.js): the
// body is that repeated-digits string with its first character replaced.
TEST(Sms, TwilioCalculatorExamples) {
  auto gsm_one = "{" + digits(159).substr(1);  // 158 + an escaped '{' = 160 septets
  auto p = plan(gsm_one);
  EXPECT_EQ(p.encoding, sms_encoding::gsm7);
  EXPECT_EQ(p.units * 7, 1120u);
  EXPECT_EQ(p.segments, 1u);

  auto gsm_two = "{" + digits(160).substr(1);
  p = plan(gsm_two);
  EXPECT_EQ(p.encoding, sms_encoding::gsm7);
  EXPECT_EQ(p.units * 7, 1127u);
  EXPECT_EQ(p.segments, 2u);

  auto ucs_one = "\xF0\x9F\x98\x9C" + digits(69).substr(1);  // U+1F61C is two UTF-16 units
  p = plan(ucs_one);
  EXPECT_EQ(p.encoding, sms_encoding::ucs2);
  EXPECT_EQ(p.units * 16, 1120u);
  EXPECT_EQ(p.segments, 1u);
  ASSERT_EQ(p.non_gsm.size(), 1u);
  EXPECT_EQ(p.non_gsm[0], "\xF0\x9F\x98\x9C");

  auto ucs_two = "\xF0\x9F\x98\x9C" + digits(70).substr(1);
  p = plan(ucs_two);
  EXPECT_EQ(p.encoding, sms_encoding::ucs2);
  EXPECT_EQ(p.units * 16, 1136u);
  EXPECT_EQ(p.segments, 2u);
}

TEST(Sms, BoundariesOfEachAlphabet) {
  EXPECT_EQ(plan(digits(160)).segments, 1u);
  EXPECT_EQ(plan(digits(161)).segments, 2u);
  EXPECT_EQ(plan(digits(306)).segments, 2u);
  EXPECT_EQ(plan(digits(307)).segments, 3u);
  // UCS-2: 'ş' (U+015F) is not in GSM-7.
  auto ucs = [](std::size_t n) { return "\xC5\x9F" + digits(n - 1); };
  EXPECT_EQ(plan(ucs(70)).segments, 1u);
  EXPECT_EQ(plan(ucs(71)).segments, 2u);
  EXPECT_EQ(plan(ucs(134)).segments, 2u);
  EXPECT_EQ(plan(ucs(135)).segments, 3u);
  EXPECT_EQ(plan("").segments, 0u);
}

TEST(Sms, SpanishClinicTextStaysGsm7) {
  // á, í, ó, ú are not GSM-7, but é, ñ, ¿, ¡, ü are.
  auto p = plan("¿Confirma su cita? Pulse 1. ¡Gracias! Señor Muñoz, pingüino, café");
  EXPECT_EQ(p.encoding, sms_encoding::gsm7);
  EXPECT_EQ(p.units, p.characters);
  p = plan("Cita mañana a las 10:00 en Traumatología");
  EXPECT_EQ(p.encoding, sms_encoding::ucs2);
  EXPECT_EQ(p.non_gsm, std::vector<std::string>{"í"});
}

TEST(Sms, ExtensionCharactersCountTwiceAndAreNotSplit) {
  auto p = plan("Total: 20€ [ver] {x} ~ | ^ \\");
  EXPECT_EQ(p.encoding, sms_encoding::gsm7);
  EXPECT_EQ(p.units, p.characters + 9);  // nine extension characters
  // 152 septets then '€': it does not fit the first part's last septet.
  auto text = digits(152) + "€" + digits(10);
  p = plan(text);
  EXPECT_EQ(p.units, 164u);
  EXPECT_EQ(p.segments, 2u);
  text = digits(152) + "€" + digits(152);  // 152 | 2 + 151 | 1 -> three parts
  EXPECT_EQ(plan(text).segments, 3u);
  EXPECT_EQ(plan(digits(153) + digits(152) + "€").segments, 3u);
}

TEST(Sms, SurrogatePairsAreNotSplit) {
  std::string emoji = "\xF0\x9F\x98\x80";
  auto p = plan(digits(66) + emoji + digits(10));  // 66 | 2 + 10
  EXPECT_EQ(p.units, 78u);
  EXPECT_EQ(p.segments, 2u);
  p = plan(digits(66) + emoji + digits(67));  // 66 | 2 + 65 | 2
  EXPECT_EQ(p.segments, 3u);
}

TEST(Sms, CharactersOutsideGsmAreNamedOnceAndBounded) {
  auto p = plan("a`b`c\tç");  // backquote and tab are ASCII but not GSM-7; lowercase ç neither
  EXPECT_EQ(p.encoding, sms_encoding::ucs2);
  EXPECT_EQ(p.non_gsm, (std::vector<std::string>{"`", "\t", "ç"}));
  p = plan("á é í ó ú Á Í Ó Ú");
  EXPECT_EQ(p.non_gsm.size(), 5u);  // at most five listed
}

TEST(Sms, MalformedUtf8IsRefused) {
  EXPECT_FALSE(plan_sms("\xC3"));              // truncated
  EXPECT_FALSE(plan_sms("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(plan_sms("\xED\xA0\x80"));      // a lone surrogate
  EXPECT_FALSE(plan_sms("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(plan_sms("\x80"));
}

std::string refusal(std::string_view text, sms_rules rules) {
  auto v = check_sms(text, rules);
  return std::holds_alternative<sms_refusal>(v) ? std::get<sms_refusal>(v).code : "";
}

TEST(Sms, RulesForRemindersAndLimits) {
  sms_rules reminder{.max_segments = 10, .single_line = true, .single_segment = true};
  EXPECT_EQ(refusal("Su cita es mañana a las 10:00.", reminder), "");
  EXPECT_EQ(refusal("Su cita:\nmañana", reminder), "line_break");
  EXPECT_EQ(refusal("Su cita:\rmañana", reminder), "line_break");
  EXPECT_EQ(refusal(digits(161), reminder), "not_one_segment");
  EXPECT_EQ(refusal("", reminder), "invalid_text");
  EXPECT_EQ(refusal("\xFF", reminder), "invalid_text");

  sms_rules agent{.max_segments = 2};
  EXPECT_EQ(refusal("línea 1\nlínea 2", agent), "");
  EXPECT_EQ(refusal(digits(306), agent), "");
  EXPECT_EQ(refusal(digits(307), agent), "too_many_segments");

  auto v = check_sms("Cita:\nmañana", reminder);
  EXPECT_EQ(std::get<sms_refusal>(v).message,
            "this SMS must be one line; character 6 is a line break");
  v = check_sms("Traumatología " + digits(60), reminder);
  EXPECT_EQ(std::get<sms_refusal>(v).message,
            "this SMS must fit one part of 70 but needs 2 parts (UCS-2, 74 UTF-16 units; "
            "UCS-2 because of \"í\")");
  v = check_sms(digits(200), reminder);
  EXPECT_EQ(std::get<sms_refusal>(v).message,
            "this SMS must fit one part of 160 but needs 2 parts (GSM-7, 200 septets)");
}

}  // namespace
}  // namespace gw::protocol
