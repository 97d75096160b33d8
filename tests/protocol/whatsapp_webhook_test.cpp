#include "protocol/whatsapp_webhook.hpp"

#include <gtest/gtest.h>

namespace gw::protocol {
namespace {

wa_webhook ok(std::string_view body) {
  auto r = parse_whatsapp_webhook(body);
  if (auto* e = std::get_if<webhook_error>(&r)) ADD_FAILURE() << e->message;
  return std::holds_alternative<wa_webhook>(r) ? std::get<wa_webhook>(r) : wa_webhook{};
}

std::string error_of(std::string_view body) {
  auto r = parse_whatsapp_webhook(body);
  return std::holds_alternative<webhook_error>(r) ? std::get<webhook_error>(r).message : "";
}

// The documented shape, two entries, several messages of several types.
constexpr std::string_view inbound = R"({
  "object": "whatsapp_business_account",
  "entry": [{
    "id": "102290129340398",
    "changes": [{
      "field": "messages",
      "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ana García"}, "wa_id": "34600111222"}],
        "messages": [
          {"from": "34600111222", "id": "wamid.T1", "timestamp": "1749416383", "type": "text",
           "text": {"body": "¿Puedo cambiar mi cita?"}},
          {"from": "34600111222", "id": "wamid.I1", "timestamp": "1749416384", "type": "image",
           "image": {"caption": "receta", "mime_type": "image/jpeg", "sha256": "abc", "id": "1003383421387256"}},
          {"from": "34600111222", "id": "wamid.D1", "timestamp": "1749416385", "type": "document",
           "document": {"filename": "informe.pdf", "mime_type": "application/pdf", "id": "m-doc"}},
          {"from": "34600111222", "id": "wamid.L1", "timestamp": "1749416386", "type": "location",
           "location": {"latitude": 40.4168, "longitude": -3.7038, "name": "Clínica", "address": "Calle Mayor 1"}},
          {"from": "34600111222", "id": "wamid.B1", "timestamp": "1749416387", "type": "interactive",
           "context": {"from": "15550783881", "id": "wamid.OUT1"},
           "interactive": {"type": "button_reply", "button_reply": {"id": "confirm", "title": "Confirmar"}}},
          {"from": "34600111222", "id": "wamid.R1", "timestamp": "1749416388", "type": "reaction",
           "reaction": {"message_id": "wamid.OUT1", "emoji": "👍"}},
          {"from": "34600111222", "id": "wamid.Q1", "timestamp": "1749416389", "type": "order",
           "order": {"catalog_id": "1", "product_items": []}}
        ]
      }
    }]
  }, {
    "id": "102290129340398",
    "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]
  }]
})";

TEST(WhatsAppWebhook, ParsesEveryMessageTypeAndKeepsUnknownOnes) {
  auto w = ok(inbound);
  ASSERT_EQ(w.messages.size(), 7u);
  EXPECT_EQ(w.ignored_changes, 1u);
  const auto& t = w.messages[0];
  EXPECT_EQ(t.phone_number_id, "106540352242922");
  EXPECT_EQ(t.from, "34600111222");
  EXPECT_EQ(t.id, "wamid.T1");
  EXPECT_EQ(t.timestamp, 1749416383);
  EXPECT_EQ(t.type, "text");
  EXPECT_EQ(t.text, "¿Puedo cambiar mi cita?");
  EXPECT_EQ(t.contact_name, "Ana García");
  EXPECT_EQ(t.raw, "");  // a text message's fields hold all of it

  EXPECT_NE(w.messages[1].raw.find("\"mime_type\":\"image/jpeg\""), std::string::npos);

  EXPECT_EQ(w.messages[1].media_id, "1003383421387256");
  EXPECT_EQ(w.messages[1].mime_type, "image/jpeg");
  EXPECT_EQ(w.messages[1].text, "receta");
  EXPECT_EQ(w.messages[2].filename, "informe.pdf");
  EXPECT_EQ(w.messages[3].text, "40.4168,-3.7038 Clínica (Calle Mayor 1)");
  EXPECT_EQ(w.messages[4].reply_id, "confirm");
  EXPECT_EQ(w.messages[4].text, "Confirmar");
  EXPECT_EQ(w.messages[4].context_id, "wamid.OUT1");
  EXPECT_EQ(w.messages[5].type, "reaction");
  EXPECT_EQ(w.messages[5].reply_id, "wamid.OUT1");
  EXPECT_EQ(w.messages[5].text, "👍");

  const auto& unknown = w.messages[6];
  EXPECT_EQ(unknown.type, "unsupported");
  EXPECT_EQ(unknown.id, "wamid.Q1");
  EXPECT_NE(unknown.raw.find("\"catalog_id\""), std::string::npos);  // kept, not dropped
}

// The rest of the documented message shapes: voice note, video, sticker,
// shared contacts, a template's quick-reply button, a list reply, and the
// two Meta itself sends for what it cannot describe ("unsupported", with its
// errors) or for a change of number ("system"), kept whole.
constexpr std::string_view more_types = R"({
  "object": "whatsapp_business_account",
  "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp",
    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    "contacts": [{"profile": {"name": "Luis"}, "wa_id": "34600333444"}],
    "messages": [
      {"from": "34600333444", "id": "wamid.A1", "timestamp": "1749416390", "type": "audio",
       "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "h", "id": "m-audio", "voice": true}},
      {"from": "34600333444", "id": "wamid.V1", "timestamp": "1749416391", "type": "video",
       "video": {"caption": "la herida", "mime_type": "video/mp4", "sha256": "h", "id": "m-video"}},
      {"from": "34600333444", "id": "wamid.S1", "timestamp": "1749416392", "type": "sticker",
       "sticker": {"mime_type": "image/webp", "sha256": "h", "id": "m-sticker", "animated": false}},
      {"from": "34600333444", "id": "wamid.C1", "timestamp": "1749416393", "type": "contacts",
       "contacts": [{"name": {"formatted_name": "Dra. Ruiz", "first_name": "Marta"},
                     "phones": [{"phone": "+34 600 555 666", "type": "WORK", "wa_id": "34600555666"}]},
                    {"name": {"formatted_name": "Recepción"}, "phones": []}]},
      {"from": "34600333444", "id": "wamid.BT1", "timestamp": "1749416394", "type": "button",
       "context": {"from": "15550783881", "id": "wamid.TPL1"},
       "button": {"text": "Sí, confirmo", "payload": "confirm-cita-123"}},
      {"from": "34600333444", "id": "wamid.LR1", "timestamp": "1749416395", "type": "interactive",
       "context": {"from": "15550783881", "id": "wamid.LIST1"},
       "interactive": {"type": "list_reply",
                       "list_reply": {"id": "slot-mon-10", "title": "Lunes 10:00", "description": "Dr. Gil"}}},
      {"from": "34600333444", "id": "wamid.U1", "timestamp": "1749416396", "type": "unsupported",
       "errors": [{"code": 131051, "title": "Message type unknown",
                   "error_data": {"details": "Message type is currently not supported."}}]},
      {"from": "34600333444", "id": "wamid.SY1", "timestamp": "1749416397", "type": "system",
       "system": {"body": "Luis changed their phone number", "wa_id": "34600999888", "type": "user_changed_number"}}
    ]}}]}]
})";

TEST(WhatsAppWebhook, ParsesMediaContactsButtonsListsAndWhatMetaCannotDescribe) {
  auto w = ok(more_types);
  ASSERT_EQ(w.messages.size(), 8u);
  for (const auto& m : w.messages) {
    EXPECT_EQ(m.contact_name, "Luis") << m.id;
    EXPECT_EQ(m.phone_number_id, "106540352242922") << m.id;
    EXPECT_NE(m.raw.find(m.id), std::string::npos) << m.id;  // every non-text message kept whole
  }
  // What each one reads as: type, media, text (caption, names, the
  // button's or the row's title), what it answers.
  struct fields {
    std::string_view type, media_id, mime_type, text, reply_id, context_id;
  };
  const fields want[] = {
      {"audio", "m-audio", "audio/ogg; codecs=opus", "", "", ""},
      {"video", "m-video", "video/mp4", "la herida", "", ""},
      {"sticker", "m-sticker", "image/webp", "", "", ""},
      {"contacts", "", "", "Dra. Ruiz, Recepción", "", ""},
      {"button", "", "", "Sí, confirmo", "confirm-cita-123", "wamid.TPL1"},
      {"interactive", "", "", "Lunes 10:00", "slot-mon-10", "wamid.LIST1"},
      {"unsupported", "", "", "", "", ""},
      {"unsupported", "", "", "", "", ""},
  };
  for (std::size_t i = 0; i < std::size(want); ++i) {
    const auto& m = w.messages[i];
    EXPECT_EQ(m.type, want[i].type) << m.id;
    EXPECT_EQ(m.media_id, want[i].media_id) << m.id;
    EXPECT_EQ(m.mime_type, want[i].mime_type) << m.id;
    EXPECT_EQ(m.text, want[i].text) << m.id;
    EXPECT_EQ(m.reply_id, want[i].reply_id) << m.id;
    EXPECT_EQ(m.context_id, want[i].context_id) << m.id;
    EXPECT_EQ(m.timestamp, static_cast<std::int64_t>(1749416390 + i)) << m.id;
  }
  EXPECT_NE(w.messages[0].raw.find("\"voice\":true"), std::string::npos);
  EXPECT_NE(w.messages[3].raw.find("+34 600 555 666"), std::string::npos);
  EXPECT_NE(w.messages[6].raw.find("131051"), std::string::npos);
  EXPECT_NE(w.messages[7].raw.find("user_changed_number"), std::string::npos);
}

TEST(WhatsAppWebhook, ParsesStatusesWithErrors) {
  auto w =
      ok(R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",
    "value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"PN"},
    "statuses":[
      {"id":"wamid.OUT1","status":"delivered","timestamp":"1749416400","recipient_id":"34600111222"},
      {"id":"wamid.OUT2","status":"failed","timestamp":"1749416401","recipient_id":"34600111222",
       "errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",
                  "error_data":{"details":"Message failed to send because more than 24 hours have passed"}}]}
    ]}}]}]})");
  ASSERT_EQ(w.statuses.size(), 2u);
  EXPECT_EQ(w.statuses[0].status, "delivered");
  EXPECT_EQ(w.statuses[0].error_code, 0);
  EXPECT_EQ(w.statuses[1].status, "failed");
  EXPECT_EQ(w.statuses[1].error_code, 131047);
  EXPECT_EQ(w.statuses[1].error_title, "Re-engagement message");
  EXPECT_NE(w.statuses[1].error_details.find("24 hours"), std::string::npos);
  EXPECT_EQ(w.statuses[1].phone_number_id, "PN");
}

TEST(WhatsAppWebhook, MalformedInputNamesTheProblem) {
  EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"object":"page","entry":[]})").find("whatsapp_business_account"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"object":"whatsapp_business_account"})").find("\"entry\""),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",
      "value":{"metadata":{}}}]}]})")
          .find("phone_number_id"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",
      "value":{"metadata":{"phone_number_id":"P"},"messages":[{"from":"1","type":"text"}]}}]}]})")
          .find("\"id\""),
      std::string::npos);
  // Every truncation of a valid body is rejected cleanly, never a crash.
  for (std::size_t cut = 0; cut < inbound.size(); cut += 7) {
    auto r = parse_whatsapp_webhook(inbound.substr(0, cut));
    EXPECT_TRUE(std::holds_alternative<webhook_error>(r)) << cut;
  }
}

// The fast path (text messages read without a document) must read exactly
// what the document parser reads, whatever the order of the keys.
constexpr std::string_view text_bodies[] = {
    // As Meta documents it, with a reply's context.
    R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{
      "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",
      "phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ana García"},
      "wa_id":"34600111222"}],"messages":[{"from":"34600111222","id":"wamid.T1",
      "timestamp":"1749416383","text":{"body":"¿Puedo cambiar mi cita?"},"type":"text",
      "context":{"from":"15550783881","id":"wamid.OUT1"}}]},"field":"messages"}]}]})",
    // Keys in another order: type before text, contacts and metadata after
    // messages, field before value, entry before object.
    R"({"entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"text",
      "text":{"body":"hola"},"id":"wamid.T2","from":"34600111222","timestamp":"17"}],
      "contacts":[{"wa_id":"34600111222","profile":{"name":"Ana"}}],
      "metadata":{"phone_number_id":"P1"}}}],"id":"9"}],"object":"whatsapp_business_account"})",
    // Several entries, changes and messages; names matched per sender, the
    // last contact of a number wins, one without a profile changes nothing.
    R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
      "metadata":{"phone_number_id":"P1"},"contacts":[{"wa_id":"1","profile":{"name":"A"}},
      {"wa_id":"2","profile":{"name":"B"}},{"wa_id":"1","profile":{"name":"A2"}},{"wa_id":"2"}],
      "messages":[{"from":"1","id":"m1","type":"text","text":{"body":"x"}},
      {"from":"2","id":"m2","type":"text","text":{"body":"y"}},{"from":"3","id":"m3","type":"text"}]}},
      {"field":"messages","value":{"metadata":{"phone_number_id":"P2"},"messages":[]}}]},
      {"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P3"},
      "messages":[{"from":"4","id":"m4","type":"text","text":{"body":"z"},"timestamp":"12ab"}]}}]}]})",
    // Escapes in keys and strings, and unknown keys of every kind skipped.
    R"({"object":"whatsapp_business_\u0061ccount","extra":[1,{"a":[{}]},null],"entry":[{
      "changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P"},"n":1.5,
      "messages":[{"\u0066rom":"1","id":"wamid.\"q\"","type":"text","referral":{"x":[true,false]},
      "text":{"body":"line\nbreak \ud83d\ude00","preview_url":false}}],"t":true}}]}]})",
};

TEST(WhatsAppWebhook, TheFastPathReadsTextAsTheDocumentParserDoes) {
  for (auto body : text_bodies) {
    auto fast = detail::parse_whatsapp_text_fast(body);
    ASSERT_TRUE(fast) << body;
    auto dom = detail::parse_whatsapp_webhook_dom(body);
    ASSERT_TRUE(std::holds_alternative<wa_webhook>(dom)) << body;
    EXPECT_EQ(*fast, std::get<wa_webhook>(dom)) << body;
  }
  auto w = *detail::parse_whatsapp_text_fast(text_bodies[2]);
  ASSERT_EQ(w.messages.size(), 4u);
  EXPECT_EQ(w.messages[0].contact_name, "A2");
  EXPECT_EQ(w.messages[1].contact_name, "B");
  EXPECT_EQ(w.messages[2].contact_name, "");
  EXPECT_EQ(w.messages[3].phone_number_id, "P3");
  EXPECT_EQ(w.messages[3].timestamp, 12);
  auto t = detail::parse_whatsapp_text_fast(text_bodies[0])->messages.at(0);
  EXPECT_EQ(t.context_id, "wamid.OUT1");
  EXPECT_EQ(t.text, "¿Puedo cambiar mi cita?");
  EXPECT_EQ(t.timestamp, 1749416383);
}

TEST(WhatsAppWebhook, TheFastPathLeavesEverythingElseToTheDocumentParser) {
  const std::string_view others[] = {
      inbound,  // images, locations, reactions, ...
      R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"P"},"messages":[{"from":"1","id":"a","type":"image",
        "image":{"id":"M","mime_type":"image/jpeg"}}]}}]}]})",
      R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"P"},"statuses":[{"id":"w","status":"read",
        "recipient_id":"1"}]}}]}]})",
      R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_update",
        "value":{"metadata":{"phone_number_id":"P"}}}]}]})",
      R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"P"},"messages":[{"from":"1","id":"a","id":"b",
        "type":"text"}]}}]}]})",
      R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"P"},"messages":[{"from":"1","id":"a","type":"text",
        "timestamp":17}]}}]}]})",
      R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
        "metadata":{},"messages":[{"from":"1","id":"a","type":"text"}]}}]}]})",
      R"({"object":"whatsapp_business_account","entry":[]} x)",
      R"({"object":"page","entry":[]})",
      R"([])",
      R"("whatsapp_business_account")",
      R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"P"},"contacts":[7],"messages":[]}}]}]})",
  };
  for (auto body : others) {
    EXPECT_FALSE(detail::parse_whatsapp_text_fast(body)) << body;
    auto dom = detail::parse_whatsapp_webhook_dom(body);
    auto both = parse_whatsapp_webhook(body);
    ASSERT_EQ(both.index(), dom.index()) << body;
    if (auto* w = std::get_if<wa_webhook>(&dom))
      EXPECT_EQ(std::get<wa_webhook>(both), *w);
    else
      EXPECT_EQ(std::get<webhook_error>(both).message, std::get<webhook_error>(dom).message);
  }
}

}  // namespace
}  // namespace gw::protocol
