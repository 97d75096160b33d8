#include "adapters/twilio/send.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "protocol/twilio_webhook.hpp"

namespace gw::adapters::twilio {
namespace {

const account acct{.sid = "AC0123456789abcdef0123456789abcdef",
                   .auth_token = "secret-token",
                   .status_callback = "https://gw.clinic.test/webhooks/twilio/sms-demo/status"};

outbound_message sms() {
  outbound_message m;
  m.id = "m-7";
  m.from = "+34910000000";
  m.to = "+34600111222";
  m.text = "Recordatorio: cita mañana 10:00 & traiga DNI";
  return m;
}

std::string param(const http_call& c, std::string_view name) {
  auto p = protocol::parse_form(c.body);
  EXPECT_TRUE(p);
  for (const auto& [k, v] : *p)
    if (k == name) return v;
  return {};
}

std::string header(const http_call& c, std::string_view name) {
  for (const auto& [k, v] : c.headers)
    if (k == name) return v;
  return {};
}

TEST(TwilioSend, SmsIsAFormPostWithBasicAuth) {
  auto c = std::get<http_call>(build_send(sms(), acct));
  EXPECT_EQ(c.target, "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json");
  EXPECT_EQ(header(c, "Content-Type"), "application/x-www-form-urlencoded");
  // base64("AC0123456789abcdef0123456789abcdef:secret-token")
  EXPECT_EQ(header(c, "Authorization"),
            "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjpzZWNyZXQtdG9rZW4=");
  EXPECT_EQ(header(c, "Idempotency-Key"), "m-7");
  EXPECT_EQ(param(c, "To"), "+34600111222");
  EXPECT_EQ(param(c, "From"), "+34910000000");
  EXPECT_EQ(param(c, "Body"), "Recordatorio: cita mañana 10:00 & traiga DNI");
  EXPECT_EQ(param(c, "StatusCallback"), acct.status_callback);
}

TEST(TwilioSend, MediaAndContentTemplates) {
  auto m = sms();
  m.type = outbound_message::kind::media;
  m.media.link = "https://clinic.test/receta.pdf";
  auto c = std::get<http_call>(build_send(m, acct));
  EXPECT_EQ(param(c, "MediaUrl"), "https://clinic.test/receta.pdf");
  EXPECT_EQ(param(c, "Body"), m.text);
  m.media = {.type = "image", .id = "123", .link = "", .filename = ""};
  EXPECT_TRUE(std::holds_alternative<build_error>(build_send(m, acct)));

  m = sms();
  m.to = "whatsapp:+34600111222";
  m.from = "whatsapp:+34910000000";
  m.type = outbound_message::kind::template_;
  m.templ = {.name = "HX0123456789abcdef0123456789abcdef",
             .language = "es",
             .body = {{"", "Ana"}, {"", "10:00"}}};
  c = std::get<http_call>(build_send(m, acct));
  EXPECT_EQ(param(c, "ContentSid"), "HX0123456789abcdef0123456789abcdef");
  EXPECT_EQ(boost::json::parse(param(c, "ContentVariables")),
            boost::json::parse(R"({"1":"Ana","2":"10:00"})"));
  EXPECT_EQ(param(c, "Body"), "");
  EXPECT_EQ(param(c, "To"), "whatsapp:+34600111222");
}

TEST(TwilioReply, AcceptedCarriesTheSidAndStatus) {
  auto r = read_send_reply(
      {201,
       R"({"account_sid":"AC0123","api_version":"2010-04-01","body":"x","num_segments":"1",)"
       R"("sid":"SM1f0e8ae6ade43cb3c0ce4525424e404f","status":"queued","error_code":null})",
       ""});
  EXPECT_EQ(r.kind, verdict::accepted);
  EXPECT_EQ(r.provider_id, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
  EXPECT_EQ(r.provider_status, "queued");
  EXPECT_EQ(read_send_reply({201, "not json", ""}).code, "unreadable_reply");
}

TEST(TwilioReply, ErrorsFailRetryOrThrottle) {
  auto r = read_send_reply(
      {400,
       R"({"code":21211,"message":"The 'To' number +3460 is not a valid phone number.",)"
       R"("more_info":"https://www.twilio.com/docs/errors/21211","status":400})",
       ""});
  EXPECT_EQ(r.kind, verdict::failed);
  EXPECT_EQ(r.code, "21211");
  EXPECT_EQ(r.reason,
            "21211: The 'To' number +3460 is not a valid phone number.: "
            "https://www.twilio.com/docs/errors/21211");
  r = read_send_reply({429, R"({"code":20429,"message":"Too Many Requests","status":429})", "1"});
  EXPECT_EQ(r.kind, verdict::throttle_channel);
  EXPECT_EQ(r.retry_after_ms, 1000);
  r = read_send_reply(
      {400, R"({"code":14107,"message":"Message rate limit exceeded","status":400})", ""});
  EXPECT_EQ(r.kind, verdict::throttle_channel);
  r = read_send_reply({503, R"({"code":20503,"message":"Service Unavailable","status":503})", ""});
  EXPECT_EQ(r.kind, verdict::retry);
  EXPECT_EQ(read_send_reply({0, "", ""}).kind, verdict::retry);
  r = read_send_reply({401, R"({"code":20003,"message":"Authenticate","status":401})", ""});
  EXPECT_EQ(r.kind, verdict::failed);
  EXPECT_EQ(r.code, "20003");
}

}  // namespace
}  // namespace gw::adapters::twilio
