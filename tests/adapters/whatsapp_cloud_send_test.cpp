#include "adapters/whatsapp_cloud/send.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace gw::adapters::whatsapp_cloud {
namespace {

namespace json = boost::json;

const sender acct{.access_token = "EAAG-token", .api_version = "v21.0"};

outbound_message text_message() {
  outbound_message m;
  m.id = "m-42";
  m.from = "106540352242922";
  m.to = "+34600111222";
  m.text = "Su cita es mañana a las 10:00";
  return m;
}

json::object body_of(const http_call& c) { return json::parse(c.body).as_object(); }

std::string header(const http_call& c, std::string_view name) {
  for (const auto& [k, v] : c.headers)
    if (k == name) return v;
  return {};
}

TEST(WhatsAppCloudSend, TextWithReplyContext) {
  auto m = text_message();
  m.reply_to = "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQUI=";
  auto c = std::get<http_call>(build_send(m, acct));
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.target, "/v21.0/106540352242922/messages");
  EXPECT_EQ(header(c, "Authorization"), "Bearer EAAG-token");
  EXPECT_EQ(header(c, "Content-Type"), "application/json");
  EXPECT_EQ(header(c, "Idempotency-Key"), "m-42");
  auto b = body_of(c);
  EXPECT_EQ(b.at("messaging_product"), "whatsapp");
  EXPECT_EQ(b.at("to"), "34600111222");
  EXPECT_EQ(b.at("type"), "text");
  EXPECT_EQ(b.at("text").at("body"), "Su cita es mañana a las 10:00");
  EXPECT_EQ(b.at("context").at("message_id"), json::value(m.reply_to));
  EXPECT_EQ(b.at("biz_opaque_callback_data"), "m-42");
}

TEST(WhatsAppCloudSend, MediaByIdOrLinkWithCaption) {
  auto m = text_message();
  m.type = outbound_message::kind::media;
  m.media = {.type = "document",
             .id = "",
             .link = "https://clinic.test/receta.pdf",
             .filename = "receta.pdf"};
  m.text = "Su receta";
  auto b = body_of(std::get<http_call>(build_send(m, acct)));
  EXPECT_EQ(b.at("type"), "document");
  EXPECT_EQ(b.at("document").at("link"), "https://clinic.test/receta.pdf");
  EXPECT_EQ(b.at("document").at("caption"), "Su receta");
  EXPECT_EQ(b.at("document").at("filename"), "receta.pdf");

  m.media = {.type = "image", .id = "1037543291543636", .link = "", .filename = ""};
  b = body_of(std::get<http_call>(build_send(m, acct)));
  EXPECT_EQ(b.at("image").at("id"), "1037543291543636");
  EXPECT_FALSE(b.at("image").as_object().contains("link"));
}

TEST(WhatsAppCloudSend, BadMessagesNameTheField) {
  auto err = [](outbound_message m) {
    auto r = build_send(m, acct);
    return std::holds_alternative<build_error>(r) ? std::get<build_error>(r).message : "";
  };
  auto m = text_message();
  m.text.clear();
  EXPECT_EQ(err(m), "text is empty");
  m = text_message();
  m.type = outbound_message::kind::media;
  m.media.type = "hologram";
  m.media.id = "1";
  EXPECT_NE(err(m).find("media.type"), std::string::npos);
  m.media.type = "audio";
  EXPECT_EQ(err(m), "audio messages take no caption");
  m.text.clear();
  m.media.link = "https://x.test/a.ogg";
  EXPECT_EQ(err(m), "media needs exactly one of id and link");
  m = text_message();
  m.type = outbound_message::kind::template_;
  m.templ = {.name = "recordatorio", .language = "es", .body = {{"", "10:00"}, {"motivo", "x"}}};
  EXPECT_EQ(err(m), "template.body mixes named and positional variables");
  m.templ.language.clear();
  EXPECT_EQ(err(m), "template.language is empty");
  m = text_message();
  m.from.clear();
  EXPECT_NE(err(m).find("phone number id"), std::string::npos);
}

TEST(WhatsAppCloudSend, TemplatesWithPositionalAndNamedVariables) {
  auto m = text_message();
  m.type = outbound_message::kind::template_;
  m.text.clear();
  m.templ = {.name = "recordatorio_cita", .language = "es", .body = {{"", "Ana"}, {"", "10:00"}}};
  auto b = body_of(std::get<http_call>(build_send(m, acct)));
  EXPECT_EQ(b.at("type"), "template");
  EXPECT_EQ(b.at("template").at("name"), "recordatorio_cita");
  EXPECT_EQ(b.at("template").at("language").at("code"), "es");
  auto& comp = b.at("template").at("components").at(0);
  EXPECT_EQ(comp.at("type"), "body");
  EXPECT_EQ(comp.at("parameters").at(1).at("text"), "10:00");
  EXPECT_FALSE(comp.at("parameters").at(1).as_object().contains("parameter_name"));

  // The free-text template: the agent's text travels in `motivo`.
  m.templ = {
      .name = "mensaje_libre", .language = "es", .body = {{"motivo", "¿Puede traer el informe?"}}};
  b = body_of(std::get<http_call>(build_send(m, acct)));
  auto& p = b.at("template").at("components").at(0).at("parameters").at(0);
  EXPECT_EQ(p.at("parameter_name"), "motivo");
  EXPECT_EQ(p.at("text"), "¿Puede traer el informe?");
}

TEST(WhatsAppCloudReply, AcceptedCarriesTheWamid) {
  auto r = read_send_reply(
      {200,
       R"({"messaging_product":"whatsapp","contacts":[{"input":"+34600111222","wa_id":"34600111222"}],)"
       R"("messages":[{"id":"wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA","message_status":"accepted"}]})",
       ""});
  EXPECT_EQ(r.kind, verdict::accepted);
  EXPECT_EQ(r.provider_id, "wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA");
  EXPECT_EQ(r.provider_status, "accepted");
  // A 200 without an id was taken by the provider: never retried blindly.
  r = read_send_reply({200, R"({"messaging_product":"whatsapp"})", ""});
  EXPECT_EQ(r.kind, verdict::failed);
  EXPECT_EQ(r.code, "unreadable_reply");
}

std::string graph_error(int code, std::string_view message, std::string_view details) {
  return json::serialize(
      json::object{{"error",
                    {{"message", message},
                     {"type", "OAuthException"},
                     {"code", code},
                     {"error_data", {{"messaging_product", "whatsapp"}, {"details", details}}},
                     {"fbtrace_id", "Az8or2yhqkZfEZ-_4Qn_Bam"}}}});
}

TEST(WhatsAppCloudReply, ErrorsAreClassifiedByCodeNotStatus) {
  auto r = read_send_reply({400,
                            graph_error(131047, "(#131047) Re-engagement message",
                                        "Message failed to send because more than 24 hours have "
                                        "passed since the customer last replied to this number."),
                            ""});
  EXPECT_EQ(r.kind, verdict::failed);
  EXPECT_EQ(r.code, "131047");
  EXPECT_EQ(r.reason.substr(0, 42), "131047: (#131047) Re-engagement message: M");

  r = read_send_reply(
      {400,
       graph_error(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                   "x"),
       ""});
  EXPECT_EQ(r.kind, verdict::throttle_recipient);
  r = read_send_reply({400,
                       graph_error(130429, "(#130429) Rate limit hit",
                                   "Cloud API message throughput has been reached."),
                       "2"});
  EXPECT_EQ(r.kind, verdict::throttle_channel);
  EXPECT_EQ(r.retry_after_ms, 2000);
  r = read_send_reply({400, graph_error(80007, "(#80007) Rate limit issues", ""), ""});
  EXPECT_EQ(r.kind, verdict::throttle_channel);
  r = read_send_reply({400, graph_error(131026, "(#131026) Message Undeliverable", "x"), ""});
  EXPECT_EQ(r.kind, verdict::failed);
  EXPECT_EQ(r.code, "131026");
  r = read_send_reply({500, graph_error(131000, "(#131000) Something went wrong", ""), ""});
  EXPECT_EQ(r.kind, verdict::retry);
  r = read_send_reply({400, graph_error(131016, "(#131016) Service unavailable", ""), ""});
  EXPECT_EQ(r.kind, verdict::retry);
  r = read_send_reply({401, graph_error(190, "Error validating access token", ""), ""});
  EXPECT_EQ(r.kind, verdict::failed);
  EXPECT_EQ(r.code, "190");
}

TEST(WhatsAppCloudReply, NoAnswerOrNoErrorObjectFollowTheStatus) {
  EXPECT_EQ(read_send_reply({0, "", ""}).kind, verdict::retry);
  auto r = read_send_reply({502, "<html>Bad Gateway</html>", ""});
  EXPECT_EQ(r.kind, verdict::retry);
  EXPECT_EQ(r.code, "http_502");
  EXPECT_EQ(read_send_reply({429, "", "x"}).kind, verdict::throttle_channel);
  EXPECT_EQ(read_send_reply({429, "", "x"}).retry_after_ms, 0);
  EXPECT_EQ(read_send_reply({404, "{}", ""}).kind, verdict::failed);
}

}  // namespace
}  // namespace gw::adapters::whatsapp_cloud
