#include "protocol/twilio_webhook.hpp"

#include <gtest/gtest.h>

namespace gw::protocol {
namespace {

TEST(Form, DecodesPlusAndPercentAndKeepsOrder) {
  auto f = parse_form("Body=Hola+%C2%BFqu%C3%A9+tal%3F&From=%2B34600111222&Empty=&Flag");
  ASSERT_TRUE(f);
  ASSERT_EQ(f->size(), 4u);
  EXPECT_EQ((*f)[0], (std::pair<std::string, std::string>{"Body", "Hola ¿qué tal?"}));
  EXPECT_EQ((*f)[1].second, "+34600111222");
  EXPECT_EQ((*f)[2].second, "");
  EXPECT_EQ((*f)[3].first, "Flag");
  EXPECT_FALSE(parse_form("a=%G1"));
  EXPECT_FALSE(parse_form("a=%4"));
  EXPECT_FALSE(parse_form("a=%"));
  EXPECT_TRUE(parse_form("")->empty());
}

TEST(Form, EncodeIsTheInverseOfParse) {
  form_params in{{"To", "whatsapp:+34600111222"},
                 {"Body", "Hola ¿qué tal? 100% & más=+"},
                 {"MediaUrl", "https://x.test/a b?c=d"},
                 {"Empty", ""}};
  auto body = encode_form(in);
  EXPECT_EQ(body.substr(0, 30), "To=whatsapp%3A%2B34600111222&B");
  EXPECT_EQ(body.find(' '), std::string::npos);
  auto back = parse_form(body);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, in);
}

TEST(TwilioWebhook, InboundMmsWithMediaAndUnknownParameters) {
  auto r = parse_twilio_inbound(
      "ToCountry=ES&MessageSid=SM1234&AccountSid=AC99&From=%2B34600111222&To=%2B34910000000"
      "&Body=Adjunto+la+receta&NumMedia=2&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm0"
      "&MediaContentType0=image%2Fjpeg&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm1"
      "&MediaContentType1=application%2Fpdf&BrandNewParameter=42");
  ASSERT_TRUE(std::holds_alternative<twilio_inbound>(r)) << std::get<webhook_error>(r).message;
  auto in = std::get<twilio_inbound>(r);
  EXPECT_EQ(in.message_sid, "SM1234");
  EXPECT_EQ(in.from, "+34600111222");
  EXPECT_EQ(in.to, "+34910000000");
  EXPECT_EQ(in.body, "Adjunto la receta");
  ASSERT_EQ(in.media.size(), 2u);
  EXPECT_EQ(in.media[1].url, "https://api.twilio.com/m1");
  EXPECT_EQ(in.media[1].content_type, "application/pdf");
  bool kept = false;
  for (auto& [k, v] : in.params) kept |= k == "BrandNewParameter" && v == "42";
  EXPECT_TRUE(kept);
}

TEST(TwilioWebhook, InboundRejectsMissingOrInconsistentFields) {
  auto err = [](std::string_view body) {
    auto r = parse_twilio_inbound(body);
    return std::holds_alternative<webhook_error>(r) ? std::get<webhook_error>(r).message : "";
  };
  EXPECT_NE(err("From=%2B1&To=%2B2&Body=x").find("MessageSid"), std::string::npos);
  EXPECT_NE(err("MessageSid=SM1&From=%2B1&To=%2B2&NumMedia=x").find("NumMedia"), std::string::npos);
  EXPECT_NE(err("MessageSid=SM1&From=%2B1&To=%2B2&NumMedia=1").find("MediaUrl0"),
            std::string::npos);
  EXPECT_NE(err("MessageSid=SM1&From=%ZZ").find("form"), std::string::npos);
}

TEST(TwilioWebhook, StatusCallback) {
  auto r = parse_twilio_status(
      "MessageSid=SM1234&MessageStatus=undelivered&ErrorCode=30003"
      "&From=%2B34910000000&To=%2B34600111222&AccountSid=AC99");
  ASSERT_TRUE(std::holds_alternative<twilio_status>(r));
  auto st = std::get<twilio_status>(r);
  EXPECT_EQ(st.message_sid, "SM1234");
  EXPECT_EQ(st.status, "undelivered");
  EXPECT_EQ(st.error_code, "30003");
  EXPECT_EQ(st.to, "+34600111222");
  EXPECT_TRUE(std::holds_alternative<webhook_error>(parse_twilio_status("MessageSid=SM1")));
  // The legacy names still work.
  EXPECT_TRUE(
      std::holds_alternative<twilio_status>(parse_twilio_status("SmsSid=SM1&SmsStatus=sent")));
}

}  // namespace
}  // namespace gw::protocol
